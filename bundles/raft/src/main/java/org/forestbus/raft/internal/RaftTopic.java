package org.forestbus.raft.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.random.RandomGenerator;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MalformedBatchException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NotLeaderException;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.ShuttingDownException;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicStatus;
import org.forestbus.api.storage.HardState;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.StorageException;
import org.forestbus.raft.core.Membership;
import org.forestbus.raft.core.Message;
import org.forestbus.raft.core.MessageType;
import org.forestbus.raft.core.ProposalRejectedException;
import org.forestbus.raft.core.RaftConfig;
import org.forestbus.raft.core.RaftLog;
import org.forestbus.raft.core.RaftNode;
import org.forestbus.raft.core.Ready;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one topic's {@link RaftNode} with I/O at the edges. Every input (tick, peer message,
 * client proposal, background-sync report) runs on the topic's {@link SerialExecutor}; the core
 * is touched by no other thread.
 *
 * <p>Per Ready, in this order (STYLE §4; the core's {@link Ready} contract):
 * truncate/reset, save membership, append entries, fsync (group commit in the log store;
 * asynchronous: inputs that arrive meanwhile are queued and become the next Ready, which is how
 * concurrent sends are aggregated), save the hard state (durably when term or vote changed),
 * THEN send messages, then publish the commit index to readers and answer clients, then
 * {@code advance}.
 *
 * <p>A leader's pipelinable Ready (no term/vote change, no truncation, no membership; the common
 * case under load) skips the wait (Raft thesis §10.2.1): append, send, answer committed clients,
 * {@code advanceWritten}, and fsync in the background; the sync's completion is reported to the
 * core as {@code durable(index, term)}, and only then does the leader count its own copy toward
 * the quorum. The next Ready is written while the previous one syncs. Any non-pipelinable Ready
 * bumps an epoch (stale background reports are dropped) and syncs the whole log before its
 * {@code advance}, which declares all of it durable.
 *
 * <p>Safety invariants of this driver: no message leaves before the hard state of its Ready is
 * durable, and none but a leader's replication traffic before its entries are (the leader counts
 * itself only once durable); no client is told "committed" before its last index is committed
 * (durable on a majority) with the term it was proposed in, nor "stored" (no waitForCommit)
 * before it is durable here; readers never see an index above the commit index. A storage
 * failure stops the topic for writes (it cannot know what reached the disk) and is reported,
 * never retried and acknowledged.
 */
final class RaftTopic implements TopicService {

    private static final Logger LOG = LoggerFactory.getLogger(RaftTopic.class);
    private static final long HOUSEKEEPING_MILLIS = 1000;
    /** Longest a closing leader waits for its leadership transfer. */
    static final long HANDOFF_MILLIS = 1000;

    /** A membership change waiting for its carrier entry (index, term) to commit. */
    private record MembershipProposal(long index, long term, CompletableFuture<TopicMembers> future) {
    }

    private record Proposal(long first, long last, long term, boolean waitForCommit, CompletableFuture<long[]> future) {
        long[] ids() {
            long[] ids = new long[(int) (last - first + 1)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = first + i;
            }
            return ids;
        }
    }

    private final String name;
    private final String nodeName;
    private final List<String> clusterNodes;
    private final LogStore log;
    private final RaftNetwork net;
    private final TopicRuntime runtime;
    private final ExecutorService workers;
    private final SerialExecutor actor;
    private final RaftNode core;
    private final CommittedReads reads;
    private final long retentionCheckMillis;
    private final Runnable ticker = this::scheduleTick;
    private final AtomicBoolean tickQueued = new AtomicBoolean();
    private final ScheduledFuture<?> housekeeping;

    // actor-confined state
    private final ArrayDeque<Proposal> pending = new ArrayDeque<>();
    private MembershipProposal membershipProposal;
    private String transferTarget;
    private CompletableFuture<Void> transferFuture;
    private final ArrayDeque<Runnable> deferred = new ArrayDeque<>();
    private boolean persisting;
    /** Bumped by every non-pipelined Ready: its full sync supersedes background syncs issued before. */
    private long pipelineEpoch;
    private int backgroundSyncs;
    private boolean flushQueued;
    private HardState unsavedHardState; // commit-only change not yet written
    private long durableLast;
    private long lastRetentionMillis;
    private Role lastRole = Role.FOLLOWER;
    private List<String> lastVoters = List.of();
    private List<String> lastLearners = List.of();

    // published for other threads
    private volatile boolean closed;
    private volatile StorageException failure;
    private volatile long term;
    private volatile Role role = Role.FOLLOWER;
    private volatile String leader;
    private volatile TopicMembers members;

    /**
     * Opens the topic on its log.
     *
     * @param clusterNodes every node of the cluster; a new topic (no stored membership) starts
     *                     with all of them as voters and stores that, so later changes to the
     *                     cluster's node list never change an existing topic's members
     */
    RaftTopic(String name, String nodeName, List<String> clusterNodes, LogStore log, RaftNetwork net,
              TopicRuntime runtime, RaftConfig config, RandomGenerator random, long retentionCheckMillis) {
        this.name = name;
        this.nodeName = nodeName;
        this.clusterNodes = List.copyOf(clusterNodes);
        this.log = log;
        this.net = net;
        this.runtime = runtime;
        this.workers = runtime.workers();
        this.retentionCheckMillis = retentionCheckMillis;
        this.actor = new SerialExecutor(workers);

        // Whatever survived recovery is made durable before the core takes it as its persisted log.
        log.sync().join();
        HardState hs = log.hardState();
        List<Membership> configs;
        byte[] record = log.membershipRecord();
        if (record != null) {
            configs = MembershipCodec.fromRecord(record);
        } else {
            configs = List.of(Membership.bootstrap(clusterNodes, List.of()));
            log.saveMembershipRecord(MembershipCodec.toRecord(configs));
        }
        List<Membership> carried = RaftNode.carriedConfigurations(configs, new LogView(log));
        Membership effective = carried.get(carried.size() - 1);
        boolean alone = effective.voters().equals(List.of(nodeName)) && effective.learners().isEmpty();
        if (alone) {
            // A group of one: this node is the whole majority and no other leader can ever exist,
            // so every entry in its durable log is committed (the core would otherwise wait for a
            // write of the new term before exposing entries written before a restart).
            hs = new HardState(hs.term(), hs.votedFor(), Math.max(hs.commitIndex(), log.lastIndex()));
        }
        this.core = new RaftNode(nodeName, configs, config, new LogView(log), hs, random);
        this.durableLast = log.lastIndex();
        this.term = core.term();
        this.lastVoters = core.voters();
        this.lastLearners = core.learners();
        this.members = new TopicMembers(core.voters(), core.learners(), lastConfigIndex(), Map.of());
        this.reads = new CommittedReads(name, log, core.commitIndex(), workers, runtime.timer());
        // Peer messages arrive on the transport's I/O thread: when the actor is idle, it steps the
        // core right there (no pool wake-up per append, acknowledgement or notice); a Ready that
        // would block is handed to the pool (persistNext).
        net.register(name, m -> actor.executeOrRunNonBlocking(() -> input(() -> core.step(m))));
        runtime.addTicker(ticker);
        try {
            if (alone) {
                // no other node can lead: take leadership now instead of after an election timeout;
                // sends queued behind this on the actor find the topic leading
                actor.execute(() -> input(core::campaign));
            }
            this.housekeeping = runtime.timer().scheduleWithFixedDelay(() -> actor.execute(this::housekeeping),
                    HOUSEKEEPING_MILLIS, HOUSEKEEPING_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            // the runtime is shutting down (executors reject): leave no registration or ticker behind
            runtime.removeTicker(ticker);
            net.unregister(name);
            reads.close();
            throw e;
        }
        LOG.info("Topic {} open on {}: voters {}, learners {}, term {}, first index {}, last index {}, commit index {}",
                name, nodeName, core.voters(), core.learners(), core.term(), log.firstIndex(), log.lastIndex(), core.commitIndex());
    }

    /** The core's read-only view of the durable log. */
    private record LogView(LogStore log) implements RaftLog {
        public long firstIndex() {
            return log.firstIndex();
        }

        public long lastIndex() {
            return log.lastIndex();
        }

        public long term(long index) {
            return log.termAt(index);
        }

        public MessageBatch entries(long lo, int maxCount, int maxBytes) {
            return log.read(lo, maxCount, maxBytes);
        }
    }

    @Override
    public String name() {
        return name;
    }

    // ------------------------------------------------------------------ inputs (any thread)

    @Override
    public CompletableFuture<long[]> send(MessageBatch batch, boolean waitForCommit) {
        if (batch.isEmpty()) {
            return CompletableFuture.failedFuture(new MalformedBatchException("no messages to send"));
        }
        CompletableFuture<long[]> f = new CompletableFuture<>();
        actor.executeOrRun(() -> input(() -> propose(batch, waitForCommit, f)));
        return f;
    }

    @Override
    public CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis) {
        return reads.read(fromIndex, maxMessages, maxBytes, waitMillis);
    }

    @Override
    public TopicStatus status() {
        return new TopicStatus(name, log.firstIndex(), log.lastIndex(), reads.commitIndex(), term, role, leader);
    }

    @Override
    public TopicMembers members() {
        return members;
    }

    @Override
    public CompletableFuture<TopicMembers> changeMembers(TopicMembers.Change change, String node) {
        CompletableFuture<TopicMembers> f = new CompletableFuture<>();
        actor.execute(() -> input(() -> proposeMembership(change, node, f, true)));
        return f;
    }

    @Override
    public CompletableFuture<Void> transferLeadership(String node) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        actor.execute(() -> input(() -> startTransfer(node, f)));
        return f;
    }

    private void scheduleTick() {
        // Coalesce: a topic gets one tick at a time, not a backlog. The flag clears only when the
        // tick reaches the core, so a tick deferred behind a stalled fsync holds back the next
        // ones too (time spent stalled counts as one tick: a follower whose disk stalls does not
        // campaign the moment it recovers, and 1,000 topics on a stalled disk queue 1,000 ticks,
        // not 10,000 a second).
        if (tickQueued.compareAndSet(false, true)) {
            actor.execute(() -> input(this::tick));
        }
    }

    private void tick() {
        tickQueued.set(false);
        core.tick();
        // Election timeouts are whole ticks: a rival whose ticks fall in the same phase as ours would
        // time out with us, both would campaign and split the vote. So a follower ticks in a random
        // phase of the tick period, and a new one for every tick spent campaigning; a leader ticks
        // in the node's leaders' phase, where its heartbeats share frames with the other leaders'
        // (TopicRuntime.TICK_PHASES).
        if (core.campaigning()) {
            runtime.rephaseTicker(ticker);
        } else if (core.role() == Role.LEADER) {
            runtime.moveTickerToLeadersPhase(ticker);
        } else if (runtime.phaseOf(ticker) == TopicRuntime.LEADERS_PHASE) {
            runtime.rephaseTicker(ticker); // stepped down: back among the followers' phases
        }
    }

    /** The phase of the tick period this topic ticks in ({@link TopicRuntime#TICK_PHASES}; tests). */
    int tickPhase() {
        return runtime.phaseOf(ticker);
    }

    /** Inputs held back while a Ready is persisted (tests; counted on the actor). */
    CompletableFuture<Integer> deferredInputs() {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        actor.execute(() -> f.complete(deferred.size()));
        return f;
    }

    // ------------------------------------------------------------------ actor

    private void propose(MessageBatch batch, boolean waitForCommit, CompletableFuture<long[]> f) {
        if (failure != null) {
            f.completeExceptionally(failure);
            return;
        }
        try {
            long first = core.propose(batch);
            pending.add(new Proposal(first, first + batch.count() - 1, core.term(), waitForCommit, f));
        } catch (ProposalRejectedException e) {
            f.completeExceptionally(e.reason() == ProposalRejectedException.Reason.EMPTY_BATCH
                    ? new MalformedBatchException("no messages to send")
                    : new NotLeaderException(name, e.leader()));
        }
    }

    private void proposeMembership(TopicMembers.Change change, String node, CompletableFuture<TopicMembers> f,
                                   boolean mayWriteBarrier) {
        if (failure != null) {
            f.completeExceptionally(failure);
            return;
        }
        if (core.role() != Role.LEADER) {
            f.completeExceptionally(new NotLeaderException(name, core.leader()));
            return;
        }
        TreeSet<String> voters = new TreeSet<>(core.voters());
        TreeSet<String> learners = new TreeSet<>(core.learners());
        String refused = switch (change) {
            case ADD_LEARNER -> !clusterNodes.contains(node)
                    ? node + " is not a node of this cluster (add it to the peers of org.forestbus.node on every node first)"
                    : voters.contains(node) || learners.contains(node) ? node + " is already a member" : null;
            case PROMOTE -> !learners.contains(node) ? node + " is not a learner of topic " + name : null;
            case REMOVE -> !voters.contains(node) && !learners.contains(node) ? node + " is not a member" : null;
        };
        if (refused != null) {
            f.completeExceptionally(new ForestBusException(ErrorCode.BAD_REQUEST, refused));
            return;
        }
        switch (change) {
            case ADD_LEARNER -> learners.add(node);
            case PROMOTE -> {
                learners.remove(node);
                voters.add(node);
            }
            case REMOVE -> {
                voters.remove(node);
                learners.remove(node);
            }
        }
        try {
            long index = core.proposeMembership(voters, learners);
            membershipProposal = new MembershipProposal(index, core.term(), f);
            LOG.info("Topic {}: proposed membership change {} {} at index {} (voters {} learners {})", name, change,
                    node, index, voters, learners);
        } catch (ProposalRejectedException e) {
            if (e.reason() == ProposalRejectedException.Reason.CONFIG_CHANGE_PENDING && mayWriteBarrier
                    && membershipProposal == null && lastConfigIndex() <= core.commitIndex()) {
                // No entry of this term is committed yet (a new leader that has had no write): a
                // change must not be stacked on one from an earlier term that may be uncommitted
                // elsewhere. Commit an empty message of this term first, then retry once.
                MessageBatch barrier = MessageBatch.of(new byte[0]);
                CompletableFuture<long[]> b = new CompletableFuture<>();
                propose(barrier, true, b);
                b.whenComplete((ids, err) -> actor.execute(() -> {
                    if (err != null) {
                        f.completeExceptionally(err);
                    } else {
                        input(() -> proposeMembership(change, node, f, false));
                    }
                }));
                return;
            }
            f.completeExceptionally(e.reason() == ProposalRejectedException.Reason.NOT_LEADER
                    ? new NotLeaderException(name, e.leader())
                    : new ForestBusException(ErrorCode.BAD_REQUEST, "membership change refused: "
                    + (e.reason() == ProposalRejectedException.Reason.CONFIG_CHANGE_PENDING
                    ? "the previous change is not committed yet" : "leadership transfer in progress")));
        } catch (IllegalArgumentException e) {
            f.completeExceptionally(new ForestBusException(ErrorCode.BAD_REQUEST, "membership change refused: "
                    + e.getMessage()));
        }
    }

    private void startTransfer(String node, CompletableFuture<Void> f) {
        if (core.role() != Role.LEADER) {
            f.completeExceptionally(new NotLeaderException(name, core.leader()));
            return;
        }
        if (node.equals(nodeName)) {
            f.complete(null);
            return;
        }
        if (!core.voters().contains(node)) {
            f.completeExceptionally(new ForestBusException(ErrorCode.BAD_REQUEST, node + " is not a voter of topic " + name));
            return;
        }
        if (transferFuture != null) {
            f.completeExceptionally(new ForestBusException(ErrorCode.BAD_REQUEST,
                    "a leadership transfer to " + transferTarget + " is in progress"));
            return;
        }
        core.transferLeadership(node);
        transferTarget = node;
        transferFuture = f;
        LOG.info("Topic {}: transferring leadership to {}", name, node);
    }

    private void handOffLeadership() {
        if (role != Role.LEADER || closed || failure != null) {
            return;
        }
        long allowance = runtime.handoffAllowance(HANDOFF_MILLIS);
        if (allowance == 0) {
            LOG.info("Topic {}: closing without a leadership handoff (node-wide handoff budget used up)", name);
            return;
        }
        long t0 = System.nanoTime();
        CompletableFuture<Void> done = new CompletableFuture<>();
        actor.execute(() -> input(() -> {
            // the most caught-up voter: TIMEOUT_NOW once it stores the whole log (at once if it does)
            String target = null;
            long best = -1;
            for (Map.Entry<String, Long> e : core.matchIndexes().entrySet()) {
                if (core.voters().contains(e.getKey()) && e.getValue() > best) {
                    target = e.getKey();
                    best = e.getValue();
                }
            }
            if (core.role() != Role.LEADER || failure != null || target == null) {
                done.completeExceptionally(new IllegalStateException("no caught-up voter"));
            } else {
                startTransfer(target, done);
            }
        }));
        try {
            done.get(allowance, TimeUnit.MILLISECONDS);
            LOG.info("Topic {}: handed leadership to {} before closing", name, leader);
        } catch (Exception e) {
            LOG.info("Topic {}: closing without a leadership handoff ({})", name, e.getCause() != null
                    ? e.getCause().getMessage() : "it did not finish in " + allowance + " ms");
        } finally {
            runtime.handoffSpent((System.nanoTime() - t0) / 1_000_000);
        }
    }

    private long lastConfigIndex() {
        List<Membership> cs = core.membership();
        return cs.get(cs.size() - 1).index();
    }

    /** Applies one input now, or queues it while a Ready is being persisted. */
    private void input(Runnable in) {
        if (closed) {
            return;
        }
        if (persisting) {
            deferred.add(in);
            return;
        }
        in.run();
        requestFlush();
    }

    /**
     * Builds the next Ready after every task already queued on the actor has run, so that sends
     * arriving together become one append and one fsync (batching without a timer).
     */
    private void requestFlush() {
        if (!flushQueued) {
            flushQueued = true;
            actor.execute((SerialExecutor.NonBlocking) () -> {
                flushQueued = false;
                if (!closed) {
                    afterInputs();
                }
            });
        }
    }

    private void afterInputs() {
        publishRole();
        if (!persisting && failure == null && core.hasReady()) {
            persistNext();
        }
    }

    /**
     * Persists the core's next Ready, unless this task must not block (run on the transport's I/O
     * thread, {@link SerialExecutor#mayBlock}) and the Ready needs a blocking save: a term or vote
     * (hard state), a truncation or reset, a membership record. Such a Ready goes to a pool task;
     * until it runs, {@code persisting} holds back inputs exactly as during any other persist.
     */
    private void persistNext() {
        Ready rd = core.ready();
        if (actor.mayBlock() || !needsBlockingSave(rd)) {
            persist(rd);
            return;
        }
        persisting = true;
        actor.execute(() -> {
            persisting = false;
            if (!closed && failure == null) {
                persist(rd);
            }
        });
    }

    /** The Ready's persist waits for the disk on the calling thread (fsync of a save, truncation, reset). */
    private static boolean needsBlockingSave(Ready rd) {
        return rd.mustSaveHardState() || rd.truncateFrom() != 0 || rd.resetTo() != 0 || rd.membership() != null;
    }

    private void persist(Ready rd) {
        if (rd.pipelinable()) {
            persistPipelined(rd);
            return;
        }
        persisting = true;
        pipelineEpoch++; // background syncs issued before this Ready no longer report durability
        boolean wrote = false;
        try {
            if (rd.resetTo() != 0) {
                log.resetTo(rd.resetTo());
            } else if (rd.truncateFrom() != 0) {
                log.truncateFrom(rd.truncateFrom());
            }
            if (rd.membership() != null) {
                // before the carrier entries: on restart the core drops configurations whose
                // carriers did not survive, but cannot recover one it was never given
                log.saveMembershipRecord(MembershipCodec.toRecord(rd.membership()));
            }
            wrote = appendEntries(rd);
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        if (wrote || backgroundSyncs > 0) {
            // advance() declares the whole log durable: this sync also covers entries written by
            // pipelined Readies whose background syncs are still running
            long covered = log.lastIndex();
            // Without a term/vote to save, nothing stands between this fsync and the Ready's
            // messages (a follower's acknowledgements): send them from the completing thread
            // rather than after a hop back to the actor. No later Ready exists until persisted()
            // runs (persisting), so per-peer order is kept.
            boolean sendOnSync = !rd.mustSaveHardState() && !rd.messages().isEmpty();
            log.sync().whenComplete((d, err) -> {
                if (sendOnSync && err == null) {
                    sendAll(rd);
                }
                actor.executeOrRun(() -> persisted(rd, err, covered, sendOnSync));
            });
        } else {
            persisted(rd, null, -1, false); // truncate/reset are durable on return; nothing else to sync
        }
    }

    /**
     * A leader's Ready handled without waiting for its fsync (Raft thesis §10.2.1; the core's
     * {@link Ready} "leader pipelining"): append, send, answer what is committed, advance, and
     * sync in the background; the next Ready can be written meanwhile. The leader counts its
     * own copy toward the quorum only when the sync reports ({@link RaftNode#durable}); clients
     * are answered only for committed indexes (durable on a majority) or, without
     * waitForCommit, once durable here.
     */
    private void persistPipelined(Ready rd) {
        boolean wrote;
        try {
            wrote = appendEntries(rd);
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        if (rd.hardState() != null) {
            unsavedHardState = rd.hardState(); // commit only (pipelinable): written by housekeeping
        }
        sendAll(rd);
        reads.advance(rd.commitIndex());
        answerClients(rd.commitIndex());
        core.advanceWritten(rd);
        if (wrote) {
            long last = rd.lastEntryIndex();
            long writeTerm = core.term();
            long epoch = pipelineEpoch;
            backgroundSyncs++;
            log.sync().whenComplete((d, err) -> actor.executeOrRun(() -> {
                backgroundSyncs--;
                if (closed) {
                    return;
                }
                if (err != null) {
                    fail(err);
                } else if (epoch == pipelineEpoch) {
                    durableLast = Math.max(durableLast, last);
                    input(() -> core.durable(last, writeTerm));
                    if (!persisting) {
                        answerClients(reads.commitIndex()); // clients without waitForCommit
                    }
                }
            }));
        }
        requestFlush();
    }

    /** Appends the Ready's entries (not yet durable); true when there were any. */
    private boolean appendEntries(Ready rd) {
        for (MessageBatch b : rd.entries()) {
            log.append(b);
        }
        return !rd.entries().isEmpty();
    }

    private void sendAll(Ready rd) {
        for (Message m : rd.messages()) {
            net.send(name, m);
        }
    }

    private void persisted(Ready rd, Throwable err, long synced, boolean messagesSent) {
        if (closed) {
            return;
        }
        if (err != null) {
            fail(err);
            return;
        }
        try {
            if (rd.hardState() != null) {
                if (rd.mustSaveHardState()) {
                    log.saveHardState(rd.hardState()); // term/vote durable before any reply leaves
                    unsavedHardState = null;
                } else {
                    unsavedHardState = rd.hardState(); // commit only: written by housekeeping
                }
            }
        } catch (RuntimeException e) {
            fail(e);
            return;
        }
        if (synced >= 0) {
            durableLast = synced;
        } else if (rd.resetTo() != 0 || rd.truncateFrom() != 0) {
            durableLast = log.lastIndex();
        }
        if (!messagesSent) {
            sendAll(rd);
        }
        reads.advance(rd.commitIndex());
        answerClients(rd.commitIndex());
        core.advance(rd);
        persisting = false;
        // advance() lets the leader count its own now-durable entries, which may commit them.
        // Report that before the queued inputs add new entries: otherwise these clients would
        // wait for the next fsync too.
        if (failure == null && core.hasReady()) {
            persistNext();
        }
        for (Runnable in; !persisting && (in = deferred.poll()) != null; ) {
            if (!closed) {
                in.run();
            }
        }
        if (!closed) {
            requestFlush();
        }
    }

    private void answerClients(long commit) {
        for (Proposal p : pending) {
            if (!p.waitForCommit && p.last <= durableLast && !p.future.isDone()) {
                long[] ids = p.ids();
                p.future.complete(ids); // on the actor: continuations must not block (TopicService contract)
            }
        }
        MembershipProposal mp = membershipProposal;
        if (mp != null && mp.index <= commit) {
            membershipProposal = null;
            if (termOrZero(mp.index) == mp.term) {
                mp.future.complete(members());
            } else {
                mp.future.completeExceptionally(new NotLeaderException(name, core.leader()));
            }
        }
        while (!pending.isEmpty() && pending.peek().last <= commit) {
            Proposal p = pending.poll();
            if (termOrZero(p.last) == p.term) {
                long[] ids = p.ids();
                p.future.complete(ids); // on the actor: continuations must not block (TopicService contract)
            } else {
                p.future.completeExceptionally(new NotLeaderException(name, core.leader()));
            }
        }
    }

    private long termOrZero(long index) {
        try {
            return log.termAt(index);
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private void publishRole() {
        Role now = core.role();
        term = core.term();
        leader = core.leader();
        role = now;
        if (now != lastRole || !core.voters().equals(lastVoters) || !core.learners().equals(lastLearners)) {
            publishMembers(); // otherwise refreshed by housekeeping: no allocation per input on idle topics
        }
        if (transferFuture != null) {
            if (now != Role.LEADER && transferTarget.equals(leader)) {
                transferFuture.complete(null);
                transferFuture = null;
            } else if (now == Role.LEADER ? core.leadTransferee() == null : leader != null) {
                // (while the target campaigns this node is a follower that knows no leader: wait)
                transferFuture.completeExceptionally(new ForestBusException(ErrorCode.INTERNAL_ERROR,
                        "leadership transfer of topic " + name + " to " + transferTarget + " abandoned"
                                + (now == Role.LEADER ? " (it did not catch up within an election timeout)"
                                : " (leader is now " + leader + ")")));
                transferFuture = null;
            }
        }
        if (lastRole == Role.LEADER && now != Role.LEADER) {
            // what is committed is committed whoever leads now (e.g. a leader that removed itself
            // steps down the moment its removal commits): answer those clients with success
            answerClients(core.commitIndex());
        }
        if (lastRole == Role.LEADER && now != Role.LEADER && !pending.isEmpty()) {
            // Lost leadership: the outcome of these writes is unknown (a new leader may still
            // commit them). Tell the clients instead of leaving them waiting.
            LOG.info("Topic {}: stepped down in term {}; {} writes in flight get NOT_LEADER (outcome unknown)", name,
                    term, pending.size());
            for (Proposal p : pending) {
                p.future.completeExceptionally(new NotLeaderException(name, core.leader()));
            }
            pending.clear();
        }
        if (now != Role.LEADER && membershipProposal != null) {
            membershipProposal.future.completeExceptionally(new NotLeaderException(name, core.leader()));
            membershipProposal = null;
        }
        if (now != lastRole) {
            LOG.info("Topic {} on {}: {} in term {} (leader {})", name, nodeName, now.label(), term, leader);
        }
        if (!core.voters().equals(lastVoters) || !core.learners().equals(lastLearners)) {
            LOG.info("Topic {} on {}: members are now voters {} learners {} (configuration at index {})", name,
                    nodeName, core.voters(), core.learners(), lastConfigIndex());
            lastVoters = core.voters();
            lastLearners = core.learners();
        }
        lastRole = now;
    }

    /**
     * The commit index to persist: never above what is durable here. A pipelining leader learns
     * that entries are committed (durable on a majority) before its own fsync returns; saving that
     * commit index and then losing the unsynced entries to a power failure would make its commit
     * index go back after the restart (the core clamps it to the log).
     */
    private HardState durableCommit(HardState hs) {
        return hs.commitIndex() <= durableLast ? hs
                : new HardState(hs.term(), hs.votedFor(), Math.max(durableLast, log.hardState().commitIndex()));
    }

    /** Publishes the members snapshot (match indexes as of now) for {@link #members()}. */
    private void publishMembers() {
        members = new TopicMembers(core.voters(), core.learners(), lastConfigIndex(), core.matchIndexes());
    }

    private void housekeeping() {
        if (closed || failure != null || persisting) {
            return;
        }
        if (core.role() == Role.LEADER) {
            publishMembers(); // match indexes for topic-info / the member-add progress line, once a second
        }
        try {
            if (unsavedHardState != null) {
                log.saveHardState(durableCommit(unsavedHardState));
                unsavedHardState = null;
            }
            long now = System.currentTimeMillis();
            if (retentionCheckMillis > 0 && now - lastRetentionMillis >= retentionCheckMillis) {
                lastRetentionMillis = now;
                long removed = log.applyRetention(reads.commitIndex());
                if (removed > 0) {
                    LOG.info("Topic {}: retention removed {} messages; first index is now {}", name, removed,
                            log.firstIndex());
                }
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    private void fail(Throwable t) {
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        StorageException e = cause instanceof StorageException se ? se
                : new StorageException("storage failure in topic " + name + ": " + cause.getMessage(), cause);
        if (failure == null) {
            failure = e;
            LOG.error("Topic {} stopped accepting writes after a storage failure; restart it once the disk is fixed",
                    name, e);
        }
        persisting = false;
        for (Proposal p : pending) {
            p.future.completeExceptionally(e);
        }
        pending.clear();
        if (membershipProposal != null) {
            membershipProposal.future.completeExceptionally(e);
            membershipProposal = null;
        }
        runtime.removeTicker(ticker); // a node that cannot persist must not vote or lead
        net.unregister(name);
        role = Role.FOLLOWER;
    }

    /**
     * Stops the topic: a leader first hands leadership to its most caught-up voter (so clients
     * see a new leader at once instead of after an election timeout; bounded by
     * {@code HANDOFF_MILLIS}), then no more inputs, waiting clients answered, hard state saved,
     * log closed.
     */
    void close() {
        handOffLeadership();
        runtime.removeTicker(ticker);
        net.unregister(name);
        housekeeping.cancel(false);
        CompletableFuture<Void> done = new CompletableFuture<>();
        actor.execute(() -> {
            try {
                closed = true;
                List<Proposal> left = new ArrayList<>(pending);
                pending.clear();
                deferred.clear();
                for (Proposal p : left) {
                    p.future.completeExceptionally(new ShuttingDownException("topic " + name));
                }
                if (membershipProposal != null) {
                    membershipProposal.future.completeExceptionally(new ShuttingDownException("topic " + name));
                }
                if (transferFuture != null) {
                    transferFuture.completeExceptionally(new ShuttingDownException("topic " + name));
                }
                reads.close();
                if (unsavedHardState != null && failure == null) {
                    log.saveHardState(durableCommit(unsavedHardState));
                }
            } catch (RuntimeException e) {
                LOG.warn("Topic {}: saving the hard state on close failed", name, e);
            } finally {
                log.close();
                done.complete(null);
            }
        });
        try {
            done.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("Topic {}: close did not finish in 30 s", name, e);
        }
        LOG.info("Topic {} closed", name);
    }
}
