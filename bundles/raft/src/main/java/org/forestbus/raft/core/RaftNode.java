package org.forestbus.raft.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.random.RandomGenerator;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.Role;
import org.forestbus.api.storage.HardState;

/**
 * One node's view of one topic's Raft group: a deterministic state machine in the style of
 * etcd-raft's {@code RawNode}. It starts no thread, reads no clock, touches no file or socket
 * and draws randomness only from the injected {@link RandomGenerator}; the same inputs give the
 * same outputs.
 *
 * <h2>Driving it</h2>
 * Inputs: {@link #tick()}, {@link #step(Message)}, {@link #propose(MessageBatch)},
 * {@link #transferLeadership(String)}. Output: while {@link #hasReady()}, take {@link #ready()},
 * process it as {@link Ready} describes (persist, then send), then {@link #advance(Ready)}.
 * Between {@code ready()} and {@code advance()} every input throws
 * {@link IllegalStateException}: the driver queues events until the Ready is durable. Not
 * thread-safe; call from one thread (the topic's executor).
 *
 * <h2>Decisions that differ from the 2015 original (FORESTBUS-SPEC §4.10, §10)</h2>
 * <ul>
 * <li>Votes: granted only if the candidate's log is at least as up to date (higher last term,
 *     or equal last term and last index {@code >=}; Raft §5.4.1, fixes D7), and its last index
 *     is at least our commit index. Term and vote are in the Ready's hard state, which is durable
 *     before the reply leaves (fixes D1/D13 at the core's level).</li>
 * <li>Any message with a higher term turns a candidate or leader into a follower (fixes D6);
 *     the exceptions are PreVote traffic and vote requests ignored under a leader lease.</li>
 * <li>PreVote and CheckQuorum (thesis §9.6, §6.2): a leader that has not heard from a majority
 *     of voters within {@code electionTicks} steps down and refuses proposals (fixes D10); a
 *     follower that heard from its leader within {@code electionTicks} ignores vote requests
 *     (a removed or partitioned node cannot depose a healthy leader).</li>
 * <li>Commit rule (§5.4.2, fixes D2/D3): the leader commits N when {@code log[N].term == term}
 *     and a majority of voters <em>durably</em> store N: the leader counts itself only up to
 *     what {@link #advance} confirmed, followers acknowledge only from Readies sent after
 *     persistence. Match indexes sorted descending, position {@code voters/2} (= ascending
 *     position floor((n-1)/2)); correct for even sizes.</li>
 * <li><b>No no-op entry.</b> Every log index is a client-visible message id, so a new leader
 *     does not append an empty message. Entries of earlier terms therefore become committed
 *     by counting only with the first client write of the new term. What the group had already
 *     committed stays visible: the commit index is part of the hard state, so after a full
 *     restart readers see everything that was committed before (fixes §10.15), and followers'
 *     acknowledgements carry their commit index, which a new leader adopts
 *     ({@link #learnCommit}). What waits for the next write is what was written but not known
 *     committed by any surviving node when the old leader failed. (Sole exception:
 *     a removed voter elected only to commit its own removal appends one empty message; see
 *     {@link #proposeMembership}.)</li>
 * <li>Follower commit = min(leader commit, index of the last entry verified by this append);
 *     only on success; never decreases (fixes D4). A conflict at or below the commit index is a
 *     safety violation and throws.</li>
 * <li>prevIndex 0 always matches; conflicts are resolved with term hints (one round trip per
 *     term instead of one per entry; fixes D12 and §10.8).</li>
 * <li>Lagging followers (fixes D9): when the entry before a follower's next index is gone from
 *     the leader's log (retention), the leader sends RESET with its first index F and the
 *     entries from F. The follower keeps its log if its entry at F has the same term (then its
 *     whole prefix matches); otherwise every entry it holds at or after F differs from the
 *     leader's and so is uncommitted, and every entry below F is committed (the leader's
 *     retention only removes entries at or below its commit index), so it discards its log,
 *     restarts it at F with those entries and sets commit to at least F-1. Of its
 *     configurations it keeps only the committed ones (those of discarded entries go with
 *     them, also below F) and takes the leader's base configuration.</li>
 * </ul>
 *
 * <h2>Invariants kept (checked by the simulation)</h2>
 * {@code firstIndex - 1 <= commit <= lastIndex}; the commit index never decreases; term never
 * decreases; at most one vote per term; entries at or below the commit index are never removed
 * except by retention. A node whose log is empty with first index {@code > 1} (power loss
 * between a RESET and the sync of its entries) does not know its last term: it neither votes
 * nor campaigns until a leader gives it entries.
 *
 * <p>Membership: see {@link Membership} and {@link #proposeMembership}. Learners receive the
 * log but never vote or count toward any quorum.
 */
public final class RaftNode {

    /** Internal states; {@link #role()} maps them onto the API's {@link Role}. */
    public enum State { FOLLOWER, PRE_CANDIDATE, CANDIDATE, LEADER }

    private final String id;
    private final RaftConfig cfg;
    private final RandomGenerator rnd;
    private final LogState log;
    /** Configurations whose carrier entries are in the log, ascending index; the last is in effect. */
    private final List<Membership> configs = new ArrayList<>();
    private boolean configsChanged;
    private List<String> voters;   // of the effective config, sorted
    private List<String> learners; // sorted
    private List<String> peers;    // voters + learners without self, sorted

    // persistent state (mirrored in HardState)
    private long term;
    private String vote;
    private long commit;

    // volatile state
    private State state = State.FOLLOWER;
    private String lead;
    private int electionElapsed;
    private int heartbeatElapsed;
    private int randomizedElectionTimeout;
    private final Map<String, Boolean> votes = new HashMap<>();
    private final Map<String, Progress> progress = new LinkedHashMap<>();
    private String leadTransferee;
    /** Highest index the driver confirmed durable (the leader's own vote in the commit quorum). */
    private long durableIndex;

    // output bookkeeping
    private final List<Message> msgs = new ArrayList<>();
    private HardState savedHardState;
    private long reportedCommit;
    private boolean readyOutstanding;

    /**
     * Creates a node with a fixed bootstrap configuration and no persisted configurations
     * (equivalent to {@code configs = [Membership.bootstrap(voters, learners)]}).
     */
    public RaftNode(String id, Collection<String> voters, Collection<String> learners, RaftConfig cfg,
                    RaftLog log, HardState hs, RandomGenerator rnd) {
        this(id, List.of(Membership.bootstrap(List.copyOf(voters), List.copyOf(learners))), cfg, log, hs, rnd);
    }

    /**
     * Restores a node from its persisted state.
     *
     * @param id      this node's id; a node outside the configuration (about to be added) never
     *                campaigns until a configuration naming it as voter reaches its log
     * @param configs the last saved {@link Ready#membership()} list, or the bootstrap
     *                configuration alone for a new node; entries whose carrier is no longer in
     *                the log (lost to a power failure or truncated) are dropped here
     * @param cfg     timing and flow-control settings
     * @param log     the persisted log (all of it is taken as durable)
     * @param hs      the last saved hard state ({@link HardState#INITIAL} for a new node)
     * @param rnd     source of election-timeout jitter
     */
    public RaftNode(String id, List<Membership> configs, RaftConfig cfg, RaftLog log, HardState hs,
                    RandomGenerator rnd) {
        this.id = Objects.requireNonNull(id, "id");
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.rnd = Objects.requireNonNull(rnd, "rnd");
        this.log = new LogState(Objects.requireNonNull(log, "log"));
        this.configs.addAll(carriedConfigurations(configs, log));
        applyConfig();
        this.term = hs.term();
        this.vote = hs.votedFor();
        long lastTerm = this.log.lastTerm();
        if (lastTerm > term) {
            // entries of a later term were durable but the hard state was not: we never voted in
            // that term (a vote is saved before its reply leaves), so adopting it with no vote is safe
            term = lastTerm;
            vote = null;
        }
        // everything below the first index is committed (retention/RESET invariant); clamp to the
        // durable log in case the hard state was saved ahead of it
        this.commit = Math.max(Math.min(hs.commitIndex(), this.log.lastIndex()), this.log.firstIndex() - 1);
        this.durableIndex = this.log.lastIndex();
        this.savedHardState = hardState();
        this.reportedCommit = commit;
        resetRandomizedElectionTimeout();
    }

    /**
     * The configurations of {@code saved} whose carrier entries {@code log} still holds (or that
     * lie below its first index), ascending; the last one is the configuration in effect. This is
     * what a node restored from {@code saved} and {@code log} uses.
     *
     * @throws IllegalArgumentException when none is left
     */
    public static List<Membership> carriedConfigurations(List<Membership> saved, RaftLog log) {
        List<Membership> out = new ArrayList<>();
        for (Membership m : saved) {
            boolean carried = m.index() < log.firstIndex()
                    || (m.index() <= log.lastIndex() && log.term(m.index()) == m.term());
            if (carried && (out.isEmpty() || m.index() > last(out).index())) {
                out.add(m);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no configuration left for the log " + log.firstIndex() + ".." + log.lastIndex());
        }
        return out;
    }

    // ------------------------------------------------------------------ queries

    public String id() {
        return id;
    }

    public State state() {
        return state;
    }

    /** API role: a pre-candidate has not started an election and reports FOLLOWER. */
    public Role role() {
        return switch (state) {
            case LEADER -> Role.LEADER;
            case CANDIDATE -> Role.CANDIDATE;
            default -> Role.FOLLOWER;
        };
    }

    /** True while this node runs an election, pre-vote included ({@link #role} shows a pre-vote as FOLLOWER). */
    public boolean campaigning() {
        return state == State.PRE_CANDIDATE || state == State.CANDIDATE;
    }

    public long term() {
        return term;
    }

    /** Known leader of the current term, or null. */
    public String leader() {
        return lead;
    }

    public long commitIndex() {
        return commit;
    }

    /** Last index including entries not yet persisted. */
    public long lastIndex() {
        return log.lastIndex();
    }

    public long firstIndex() {
        return log.firstIndex();
    }

    /** Term of the entry at {@code index} (persisted or pending), or -1 when not stored. */
    public long termAt(long index) {
        return log.term(index);
    }

    public List<String> voters() {
        return voters;
    }

    public List<String> learners() {
        return learners;
    }

    /** All configurations still relevant to the log, ascending; the last one is in effect. */
    public List<Membership> membership() {
        return List.copyOf(configs);
    }

    /** On the leader: every other member's highest index known to match the leader's log; else empty. */
    public Map<String, Long> matchIndexes() {
        if (state != State.LEADER) {
            return Map.of();
        }
        Map<String, Long> out = new java.util.TreeMap<>();
        for (Map.Entry<String, Progress> e : progress.entrySet()) {
            if (!e.getKey().equals(id)) {
                out.put(e.getKey(), e.getValue().match);
            }
        }
        return out;
    }

    /** The pending leadership transfer target, or null. */
    public String leadTransferee() {
        return leadTransferee;
    }

    public HardState hardState() {
        return new HardState(term, vote, commit);
    }

    /** For tests and status pages: the leader's view of {@code peer}, as text. */
    public String progressOf(String peer) {
        Progress pr = progress.get(peer);
        return pr == null ? "none" : pr.toString();
    }

    // ------------------------------------------------------------------ inputs

    /** Advances logical time by one tick. */
    public void tick() {
        checkInput();
        if (state == State.LEADER) {
            tickLeader();
        } else {
            electionElapsed++;
            if (electionElapsed >= randomizedElectionTimeout) {
                if (promotable()) {
                    electionElapsed = 0;
                    campaign(cfg.preVote(), false);
                } else {
                    // we may not campaign; still, do not restart the timer: electionElapsed is
                    // also the leader lease (step() ignores vote requests while it is below
                    // electionTicks), and restarting it would renew the lease with no word from
                    // any leader, so a learner whose promotion it has not received yet, or a
                    // voter that believes itself removed, would ignore every candidate for
                    // ever. It stays at the timeout (>= electionTicks) until a leader is heard.
                    electionElapsed = randomizedElectionTimeout;
                }
            }
        }
    }

    private void tickLeader() {
        heartbeatElapsed++;
        electionElapsed++;
        for (Progress pr : progress.values()) {
            pr.sinceHeard++;
        }
        if (cfg.checkQuorum()) {
            // CheckQuorum (thesis §6.2): step down as soon as a majority of voters (counting
            // ourselves) has been silent for electionTicks. Followers keep a lease of the same
            // length, so no other leader can have been elected before this happens.
            int active = 0;
            for (String v : voters) {
                if (v.equals(id) || progress.get(v).sinceHeard < cfg.electionTicks()) {
                    active++;
                }
            }
            if (active < quorum()) {
                becomeFollower(term, null);
                return;
            }
        }
        if (electionElapsed >= cfg.electionTicks()) {
            electionElapsed = 0;
            if (leadTransferee != null) {
                leadTransferee = null; // transfer did not finish within an election timeout
            }
        }
        if (heartbeatElapsed >= cfg.heartbeatTicks()) {
            heartbeatElapsed = 0;
            for (String p : peers) {
                Progress pr = progress.get(p);
                send(new Message(MessageType.HEARTBEAT, id, p, term, 0, 0, MessageBatch.empty(),
                        Math.min(pr.match, commit), false, 0, false));
            }
        }
    }

    /**
     * Starts an election now, as if the election timeout had elapsed (PreVote first when
     * enabled). Ignored by a leader and by a node that may not campaign (a learner, or a node
     * whose last term is unknown).
     */
    public void campaign() {
        checkInput();
        if (state != State.LEADER && promotable()) {
            electionElapsed = 0;
            campaign(cfg.preVote(), false);
        }
    }

    /**
     * Appends a client batch as one contiguous index range (leader only). The batch's headers
     * get this term stamped in place; the same bytes then go to disk and to followers.
     *
     * @return the index of the batch's first message; it holds indexes
     *         {@code [first, first + batch.count())}, committed once the commit index reaches the
     *         last one while {@link #termAt} of it still equals the term at proposal time
     * @throws ProposalRejectedException when not leader, while transferring leadership, or for an empty batch
     */
    public long propose(MessageBatch batch) {
        checkInput();
        if (batch.isEmpty()) {
            throw new ProposalRejectedException(ProposalRejectedException.Reason.EMPTY_BATCH, lead);
        }
        if (state != State.LEADER) {
            throw new ProposalRejectedException(ProposalRejectedException.Reason.NOT_LEADER, lead);
        }
        if (leadTransferee != null) {
            throw new ProposalRejectedException(ProposalRejectedException.Reason.TRANSFERRING_LEADERSHIP, lead);
        }
        long first = log.lastIndex() + 1;
        log.append(batch.stampTerm(term));
        for (String p : peers) {
            sendAppend(p, false);
        }
        return first;
    }

    /**
     * Proposes the next membership configuration (leader only): a single-server change (thesis
     * §4.1) — add or remove one learner, promote one learner to voter, or remove one voter. The
     * change takes effect at once on the leader and on each follower when the carrier entry (an
     * empty message at the returned index) reaches its log; it is complete when that index is
     * committed. A leader that removes itself keeps leading until then and then steps down.
     *
     * <p>Refused (ProposalRejectedException / IllegalArgumentException) when not leader, while a
     * transfer runs, while the previous change is uncommitted, before an entry of the current
     * term is committed (the leader-change bug of single-server changes: a new leader must not
     * stack a change on an uncommitted one from an earlier term), when more than one member
     * changes, when the last voter would go, or when the learner to promote has not caught up to
     * the commit index.
     *
     * @return index of the carrier entry
     */
    public long proposeMembership(Collection<String> newVoters, Collection<String> newLearners) {
        checkInput();
        if (state != State.LEADER) {
            throw new ProposalRejectedException(ProposalRejectedException.Reason.NOT_LEADER, lead);
        }
        if (leadTransferee != null) {
            throw new ProposalRejectedException(ProposalRejectedException.Reason.TRANSFERRING_LEADERSHIP, lead);
        }
        if (last(configs).index() > commit || log.term(commit) != term) {
            throw new ProposalRejectedException(ProposalRejectedException.Reason.CONFIG_CHANGE_PENDING, lead);
        }
        Membership next = new Membership(log.lastIndex() + 1, term, List.copyOf(newVoters), List.copyOf(newLearners));
        TreeSet<String> addV = minus(next.voters(), voters);
        TreeSet<String> remV = minus(voters, next.voters());
        TreeSet<String> addL = minus(next.learners(), learners);
        TreeSet<String> remL = minus(learners, next.learners());
        boolean promotion = addV.size() == 1 && remV.isEmpty() && addL.isEmpty() && remL.equals(addV);
        boolean voterRemoval = addV.isEmpty() && remV.size() == 1 && remL.isEmpty()
                && (addL.isEmpty() || addL.equals(remV)); // removed, or demoted to learner
        boolean learnerChange = addV.isEmpty() && remV.isEmpty() && addL.size() + remL.size() == 1;
        if (!promotion && !voterRemoval && !learnerChange) {
            throw new IllegalArgumentException("not a single-server change: " + voters + "/" + learners
                    + " -> " + next.voters() + "/" + next.learners());
        }
        if (promotion && progress.get(addV.first()).match < commit) {
            throw new IllegalArgumentException("learner " + addV.first() + " has not caught up ("
                    + progress.get(addV.first()).match + " < commit " + commit + ")");
        }
        long index = log.lastIndex() + 1;
        log.append(MessageBatch.of(new byte[0]).stampTerm(term));
        configs.add(next);
        configsChanged = true;
        applyConfig();
        for (String p : peers) {
            sendAppend(p, false);
        }
        return index;
    }

    /**
     * Asks the leader to hand leadership to voter {@code to} (thesis §3.10): proposals are
     * refused meanwhile; once {@code to} matches the whole log it gets TIMEOUT_NOW and
     * campaigns at once. Abandoned after {@code electionTicks} ticks. Ignored when not leader.
     */
    public void transferLeadership(String to) {
        checkInput();
        if (state != State.LEADER || to.equals(id) || to.equals(leadTransferee)) {
            return;
        }
        if (!voters.contains(to)) {
            throw new IllegalArgumentException(to + " is not a voter");
        }
        leadTransferee = to;
        electionElapsed = 0;
        Progress pr = progress.get(to);
        if (pr.match == log.lastIndex()) {
            send(Message.of(MessageType.TIMEOUT_NOW, id, to, term));
        } else {
            sendAppend(to, true);
        }
    }

    /** Handles a message from a peer. Messages addressed to another node are ignored. */
    public void step(Message m) {
        checkInput();
        if (!m.to().equals(id) || m.from().equals(id)) {
            return;
        }
        if (m.term() > term) {
            if (m.type() == MessageType.VOTE || m.type() == MessageType.PRE_VOTE) {
                boolean inLease = cfg.checkQuorum() && lead != null && electionElapsed < cfg.electionTicks();
                if (inLease && !m.transfer()) {
                    return; // leader lease: a current leader is alive, do not even raise our term
                }
            }
            if (m.type() == MessageType.PRE_VOTE || (m.type() == MessageType.PRE_VOTE_RESP && !m.reject())) {
                // PreVote never changes term: a granted response carries the term we would campaign in
            } else if (isFromLeader(m.type())) {
                becomeFollower(m.term(), m.from());
            } else if (m.type() == MessageType.VOTE && state == State.FOLLOWER) {
                // Raft Figure 2: only the leader's AppendEntries or a vote we grant restarts the
                // election timer. A follower that merely learns a higher term from a candidate it
                // may refuse (a log behind ours) keeps counting, or a candidate that can never win
                // would keep the one node that can from ever campaigning (without PreVote).
                int elapsed = electionElapsed;
                becomeFollower(m.term(), null);
                electionElapsed = elapsed;
            } else {
                becomeFollower(m.term(), null);
            }
        } else if (m.term() < term) {
            if ((cfg.checkQuorum() || cfg.preVote()) && isFromLeader(m.type())) {
                // a stale leader (e.g. back from a partition) learns our term and steps down
                send(Message.of(MessageType.APPEND_RESP, id, m.from(), term));
            } else if (m.type() == MessageType.PRE_VOTE) {
                send(voteResp(MessageType.PRE_VOTE_RESP, m.from(), term, true));
            }
            return;
        }
        switch (m.type()) {
            case PRE_VOTE, VOTE -> handleVoteRequest(m);
            default -> {
                switch (state) {
                    case LEADER -> stepLeader(m);
                    case CANDIDATE, PRE_CANDIDATE -> stepCandidate(m);
                    case FOLLOWER -> stepFollower(m);
                    default -> throw new IllegalStateException();
                }
            }
        }
    }

    private static boolean isFromLeader(MessageType t) {
        return t == MessageType.APPEND || t == MessageType.HEARTBEAT || t == MessageType.RESET
                || t == MessageType.COMMIT;
    }

    // ------------------------------------------------------------------ output

    /** True when {@link #ready()} has something to persist, send or report. */
    public boolean hasReady() {
        return !readyOutstanding && (log.hasPending() || !msgs.isEmpty() || !hardState().equals(savedHardState)
                || commit != reportedCommit || configsChanged);
    }

    /** Collects pending work; call {@link #advance(Ready)} once it is processed. */
    public Ready ready() {
        if (readyOutstanding) {
            throw new IllegalStateException("previous Ready not advanced");
        }
        HardState hs = hardState();
        boolean changed = !hs.equals(savedHardState);
        boolean must = changed && (hs.term() != savedHardState.term() || !Objects.equals(hs.votedFor(), savedHardState.votedFor()));
        boolean pipelinable = state == State.LEADER && !must && !configsChanged && log.pendingResetTo() == 0
                && log.pendingTruncateFrom() == 0 && onlyReplication(msgs);
        Ready rd = new Ready(changed ? hs : null, must, configsChanged ? List.copyOf(configs) : null,
                log.pendingResetTo(), log.pendingTruncateFrom(),
                log.pendingOffset(), log.pendingEntries(), msgs, reportedCommit, commit, pipelinable);
        configsChanged = false;
        msgs.clear();
        readyOutstanding = true;
        return rd;
    }

    private static boolean onlyReplication(List<Message> ms) {
        for (Message m : ms) {
            if (!isFromLeader(m.type())) {
                return false;
            }
        }
        return true;
    }

    /**
     * The driver persisted {@code rd} (log changes durable, hard state saved) and sent its
     * messages. Everything in the log is durable now (so after pipelined Readies the driver's
     * sync for this one must cover them too); the leader counts all of it toward the quorum.
     */
    public void advance(Ready rd) {
        if (!readyOutstanding) {
            throw new IllegalStateException("no Ready outstanding");
        }
        readyOutstanding = false;
        log.stabilized();
        durableIndex = log.lastIndex();
        if (rd.hardState() != null) {
            savedHardState = rd.hardState();
        }
        reportedCommit = rd.commitIndex();
        if (state == State.LEADER) {
            progress.get(id).maybeUpdate(durableIndex);
            maybeCommitAndStepDown();
        }
    }

    /**
     * Leader pipelining (Raft thesis §10.2.1): the driver wrote a {@link Ready#pipelinable()}
     * Ready's entries to the log (not yet durable), sent its messages and saved its commit-only
     * hard state lazily; it is fsyncing the entries in the background and will report that with
     * {@link #durable(long, long)}. Everything {@link #advance} does except counting the new
     * entries toward the commit quorum: the leader's own vote for them waits for durability,
     * followers' votes do not (a majority of other voters may commit them first).
     *
     * @throws IllegalArgumentException when {@code rd} is not pipelinable
     */
    public void advanceWritten(Ready rd) {
        if (!readyOutstanding) {
            throw new IllegalStateException("no Ready outstanding");
        }
        if (!rd.pipelinable()) {
            throw new IllegalArgumentException("not a pipelinable Ready: " + rd);
        }
        readyOutstanding = false;
        log.stabilized(); // the entries are in the log (readable), only not yet durable
        if (rd.hardState() != null) {
            savedHardState = rd.hardState();
        }
        reportedCommit = rd.commitIndex();
    }

    /**
     * The driver's background fsync for entries written in {@code writeTerm} completed: the log
     * is durable up to {@code index}. Ignored unless this node still leads in {@code writeTerm}
     * (a leader never rewrites its log within its term, so those entries are the ones synced;
     * after a term change the driver's full syncs report durability through {@link #advance}).
     */
    public void durable(long index, long writeTerm) {
        checkInput();
        if (state == State.LEADER && writeTerm == term && index > durableIndex && index <= log.lastIndex()) {
            durableIndex = index;
            progress.get(id).maybeUpdate(durableIndex);
            maybeCommitAndStepDown();
        }
    }

    // ------------------------------------------------------------------ membership

    private static TreeSet<String> minus(List<String> a, List<String> b) {
        TreeSet<String> r = new TreeSet<>(a);
        b.forEach(r::remove);
        return r;
    }

    private static Membership last(List<Membership> l) {
        return l.get(l.size() - 1);
    }

    /** Recomputes the member lists from the effective configuration; the leader adds/drops progress. */
    private void applyConfig() {
        Membership m = last(configs);
        voters = m.voters();
        learners = m.learners();
        TreeSet<String> p = new TreeSet<>(voters);
        p.addAll(learners);
        p.remove(id);
        peers = List.copyOf(p);
        if (state == State.LEADER) {
            long next = log.lastIndex() + 1;
            progress.keySet().removeIf(k -> !k.equals(id) && !m.contains(k));
            for (String k : peers) {
                progress.computeIfAbsent(k, x -> new Progress(next));
            }
            if (leadTransferee != null && !voters.contains(leadTransferee)) {
                leadTransferee = null;
            }
        }
    }

    /** Drops configurations whose carrier entries at {@code >= index} leave the log. */
    private void dropConfigsFrom(long index) {
        boolean removed = false;
        while (configs.size() > 1 && last(configs).index() >= index) {
            configs.remove(configs.size() - 1);
            removed = true;
        }
        if (removed) {
            configsChanged = true;
            applyConfig();
        }
    }

    /** Adds the configurations carried by entries in {@code [lo, hi]} that we do not have yet. */
    private void addConfigs(List<Membership> carried, long lo, long hi) {
        boolean added = false;
        for (Membership m : carried) {
            if (m.index() >= lo && m.index() <= hi && m.index() > last(configs).index()) {
                configs.add(m);
                added = true;
            }
        }
        if (added) {
            configsChanged = true;
            applyConfig();
        }
    }

    /** Configurations to ship with entries {@code [lo, hi]}. */
    private List<Membership> configsIn(long lo, long hi) {
        List<Membership> out = null;
        for (Membership m : configs) {
            if (m.index() >= lo && m.index() <= hi) {
                if (out == null) {
                    out = new ArrayList<>(2);
                }
                out.add(m);
            }
        }
        return out == null ? List.of() : out;
    }

    /** A leader whose own removal is committed steps down (it is no longer a voter). */
    private void maybeStepDownAfterRemoval() {
        if (state == State.LEADER && !voters.contains(id) && last(configs).index() <= commit) {
            becomeFollower(term, null);
        }
    }

    private void checkInput() {
        if (readyOutstanding) {
            throw new IllegalStateException("input while a Ready is outstanding; advance it first");
        }
    }

    // ------------------------------------------------------------------ roles

    private void reset(long newTerm) {
        if (newTerm != term) {
            term = newTerm;
            vote = null;
        }
        lead = null;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        resetRandomizedElectionTimeout();
        votes.clear();
        progress.clear();
        leadTransferee = null;
    }

    private void becomeFollower(long newTerm, String leader) {
        reset(newTerm);
        state = State.FOLLOWER;
        lead = leader;
    }

    private void becomeLeader() {
        reset(term);
        state = State.LEADER;
        lead = id;
        long last = log.lastIndex();
        for (String p : voters) {
            progress.put(p, new Progress(last + 1));
        }
        for (String p : learners) {
            progress.put(p, new Progress(last + 1));
        }
        Progress self = new Progress(last + 1); // also when we are being removed (not a member)
        self.match = durableIndex;
        progress.put(id, self);
        if (!voters.contains(id)) {
            // we were elected only to finish our own removal (see promotable()): that needs an
            // entry of this term to commit, so this one case appends an empty message (readers
            // see an empty payload at its index); we step down once it commits
            log.append(MessageBatch.of(new byte[0]).stampTerm(term));
        }
        // otherwise no no-op entry (see class comment); probe every peer so match indexes are learnt
        bcastAppend();
    }

    /**
     * Whether we would vote for {@code candidate}: a voter of our configuration, or of the one
     * before it while that change is uncommitted (the same rule as {@link #promotable()}). A
     * node that was removed, or that joined with a configuration of its own naming itself a
     * voter, cannot collect our vote.
     */
    private boolean electable(String candidate) {
        if (voters.contains(candidate)) {
            return true;
        }
        int n = configs.size();
        return n >= 2 && configs.get(n - 1).index() > commit && configs.get(n - 2).voters().contains(candidate);
    }

    private boolean promotable() {
        // a voter that knows its last term (see class comment on empty logs above index 1), or a
        // voter whose removal is still uncommitted: it may be needed to commit that removal
        // (thesis §4.2.2, Figure 4.6); its own vote then does not count (tally counts voters only)
        if (log.lastTerm() == LogState.UNKNOWN) {
            return false;
        }
        if (voters.contains(id)) {
            return true;
        }
        int n = configs.size();
        return n >= 2 && configs.get(n - 1).index() > commit && configs.get(n - 2).voters().contains(id);
    }

    private void campaign(boolean pre, boolean transfer) {
        long voteTerm;
        MessageType type;
        if (pre) {
            state = State.PRE_CANDIDATE;
            lead = null;
            votes.clear();
            voteTerm = term + 1;
            type = MessageType.PRE_VOTE;
        } else {
            reset(term + 1);
            state = State.CANDIDATE;
            vote = id;
            voteTerm = term;
            type = MessageType.VOTE;
        }
        votes.put(id, true);
        if (tally() > 0) {
            if (pre) {
                campaign(false, transfer);
            } else {
                becomeLeader();
            }
            return;
        }
        long lastIndex = log.lastIndex();
        long lastTerm = log.lastTerm();
        for (String v : voters) {
            if (!v.equals(id)) {
                send(new Message(type, id, v, voteTerm, lastIndex, lastTerm, MessageBatch.empty(), 0, false, 0, transfer));
            }
        }
    }

    /** 1 = won, -1 = lost, 0 = undecided. */
    private int tally() {
        int granted = 0;
        int rejected = 0;
        for (String v : voters) {
            Boolean g = votes.get(v);
            if (g == null) {
                continue;
            }
            if (g) {
                granted++;
            } else {
                rejected++;
            }
        }
        if (granted >= quorum()) {
            return 1;
        }
        return rejected >= quorum() ? -1 : 0;
    }

    private int quorum() {
        return voters.size() / 2 + 1;
    }

    private void handleVoteRequest(Message m) {
        boolean pre = m.type() == MessageType.PRE_VOTE;
        MessageType resp = pre ? MessageType.PRE_VOTE_RESP : MessageType.VOTE_RESP;
        // we may vote if we already voted for it, or have not voted and know no leader in this
        // term, or (PreVote) it is about a future term
        boolean canVote = m.from().equals(vote) || (vote == null && lead == null) || (pre && m.term() > term);
        long lastTerm = log.lastTerm();
        boolean upToDate = lastTerm != LogState.UNKNOWN
                && (m.logTerm() > lastTerm || (m.logTerm() == lastTerm && m.index() >= log.lastIndex()))
                && m.index() >= commit;
        if (canVote && upToDate && electable(m.from())) {
            send(voteResp(resp, m.from(), m.term(), false));
            if (!pre) {
                electionElapsed = 0;
                vote = m.from(); // in the hard state of this Ready: durable before the reply leaves
            }
        } else {
            send(voteResp(resp, m.from(), term, true));
        }
    }

    private Message voteResp(MessageType t, String to, long respTerm, boolean reject) {
        return new Message(t, id, to, respTerm, 0, 0, MessageBatch.empty(), 0, reject, 0, false);
    }

    private void stepCandidate(Message m) {
        switch (m.type()) {
            case APPEND, HEARTBEAT, RESET, COMMIT -> {
                // a leader exists in our term (or, for a pre-candidate, in the current term)
                becomeFollower(m.term(), m.from());
                stepFollower(m);
            }
            case PRE_VOTE_RESP, VOTE_RESP -> {
                boolean mine = (state == State.PRE_CANDIDATE) == (m.type() == MessageType.PRE_VOTE_RESP);
                if (!mine) {
                    return;
                }
                votes.putIfAbsent(m.from(), !m.reject());
                int r = tally();
                if (r > 0) {
                    if (state == State.PRE_CANDIDATE) {
                        campaign(false, m.transfer());
                    } else {
                        becomeLeader();
                    }
                } else if (r < 0) {
                    becomeFollower(term, null);
                }
            }
            default -> {
            }
        }
    }

    private void stepFollower(Message m) {
        switch (m.type()) {
            case APPEND -> {
                electionElapsed = 0;
                lead = m.from();
                handleAppend(m);
            }
            case HEARTBEAT -> {
                electionElapsed = 0;
                lead = m.from();
                // m.commit <= our acknowledged match in this term, so our log agrees up to it
                commitTo(Math.min(m.commit(), log.lastIndex()));
                send(new Message(MessageType.HEARTBEAT_RESP, id, m.from(), term, 0, 0, MessageBatch.empty(), commit,
                        false, 0, false));
            }
            case RESET -> {
                electionElapsed = 0;
                lead = m.from();
                handleReset(m);
            }
            case COMMIT -> {
                electionElapsed = 0;
                lead = m.from();
                // Log Matching: holding the leader's entry at m.index (same term) means our log
                // equals the leader's through it, so min(leader commit, m.index) is committed here
                // too. Below our commit there is nothing to learn (and the term may be gone to
                // retention); a missing or different entry means an append was lost or conflicts:
                // the leader's next append or heartbeat sorts that out. Never answered.
                long i = m.index();
                if (i > commit && i <= log.lastIndex() && log.term(i) == m.logTerm()) {
                    commitTo(Math.min(m.commit(), i));
                }
            }
            case TIMEOUT_NOW -> {
                if (promotable()) {
                    campaign(false, true);
                }
            }
            default -> {
            }
        }
    }

    // ------------------------------------------------------------------ replication (follower)

    private void handleAppend(Message m) {
        long prev = m.index();
        if (prev < commit) {
            // everything up to our commit index matches the leader (committed); tell it so
            send(appendResp(m.from(), commit));
            return;
        }
        // prev == commit matches without a term check (it is committed, possibly below firstIndex)
        if (prev > commit && log.term(prev) != m.logTerm()) {
            // log.term(prev) is never UNKNOWN-below-first here: firstIndex-1 <= commit < prev
            long hint = Math.min(prev, log.lastIndex());
            hint = findConflictByTerm(hint, m.logTerm());
            long hintTerm = Math.max(0, log.term(hint));
            send(new Message(MessageType.APPEND_RESP, id, m.from(), term, prev, hintTerm, MessageBatch.empty(),
                    0, true, hint, false));
            return;
        }
        long lastNew = appendVerified(prev, m.entries(), m.configs());
        commitTo(Math.min(m.commit(), lastNew));
        send(appendResp(m.from(), lastNew));
    }

    /**
     * Our log matches the leader's through {@code prev}; merges {@code entries} (from prev+1):
     * skips those already present with the same term, truncates at the first conflict, appends
     * the rest. Returns the last index now known to match the leader.
     */
    private long appendVerified(long prev, MessageBatch entries, List<Membership> carried) {
        int n = entries.count();
        long last = log.lastIndex();
        int k = 0;
        while (k < n && prev + 1 + k <= last) {
            long idx = prev + 1 + k;
            if (log.term(idx) != entries.term(k)) {
                if (idx <= commit) {
                    throw new IllegalStateException("Raft safety violation: leader conflicts with committed index "
                            + idx + " (commit " + commit + ")");
                }
                log.truncateFrom(idx);
                dropConfigsFrom(idx);
                break;
            }
            k++;
        }
        if (k < n) {
            log.append(entries.slice(k, n));
        }
        addConfigs(carried, prev + 1, prev + n);
        return prev + n;
    }

    private void handleReset(Message m) {
        long f = m.index();
        MessageBatch entries = m.entries();
        if (entries.isEmpty() || f < 1) {
            return; // malformed
        }
        if (f - 1 <= commit) {
            // our committed prefix reaches F-1: an ordinary append with prevIndex F-1 suffices
            handleAppend(new Message(MessageType.APPEND, m.from(), m.to(), m.term(), f - 1, 0, entries,
                    m.commit(), false, 0, false, m.configs()));
            return;
        }
        if (log.term(f) == entries.term(0)) {
            // same entry at F => (log matching) our prefix through F equals the leader's
            long lastNew = appendVerified(f, entries.slice(1, entries.count()), m.configs());
            commitTo(Math.min(m.commit(), lastNew));
            send(appendResp(m.from(), lastNew));
            return;
        }
        // every entry we hold at >= F differs from the leader's: uncommitted; everything below F
        // is committed on the leader (its retention keeps F-1 <= its commit). Restart at F.
        // Configurations: the reset discards our whole log, so ours carried by entries above our
        // commit index go with it, also those below F: such an entry was never verified against
        // this leader and may be from a divergent, uncommitted history (a stale change kept that
        // way could give us a voter set no leader ever had). Ours up to our commit index are
        // committed, hence in the leader's log too. On top of them: the leader's base (its last
        // configuration before F, never older than our committed ones), then those carried by
        // the new entries.
        List<Membership> kept = new ArrayList<>(configs.size() + 1);
        for (Membership c : configs) {
            if (c.index() <= commit) {
                kept.add(c);
            }
        }
        for (Membership c : m.configs()) {
            if (c.index() < f && (kept.isEmpty() || c.index() > last(kept).index())) {
                kept.add(c);
            }
        }
        if (kept.isEmpty()) {
            return; // malformed: no base configuration (the bootstrap one, index 0, is always below F)
        }
        log.resetTo(f);
        log.append(entries);
        long lastNew = f + entries.count() - 1;
        configs.clear();
        configs.addAll(kept);
        configsChanged = true;
        addConfigs(m.configs(), f, lastNew);
        applyConfig();
        commitTo(Math.max(f - 1, Math.min(m.commit(), lastNew)));
        send(appendResp(m.from(), lastNew));
    }

    /** A successful acknowledgement; it carries our commit index for a new leader that may not know it. */
    private Message appendResp(String to, long index) {
        return new Message(MessageType.APPEND_RESP, id, to, term, index, 0, MessageBatch.empty(), commit, false, 0, false);
    }

    /**
     * The largest index {@code <= index} whose term is {@code <= t} (etcd's findConflictByTerm);
     * stops at {@code firstIndex - 1}. Used on both sides of the fast back-off.
     */
    private long findConflictByTerm(long index, long t) {
        long first = log.firstIndex();
        while (index >= first) {
            long it = log.term(index);
            if (it <= t) {
                return index;
            }
            index--;
        }
        return index;
    }

    private void commitTo(long c) {
        if (c > commit) {
            if (c > log.lastIndex()) {
                throw new IllegalStateException("commit " + c + " beyond last index " + log.lastIndex());
            }
            commit = c;
        }
    }

    // ------------------------------------------------------------------ replication (leader)

    private void stepLeader(Message m) {
        Progress pr = progress.get(m.from());
        if (pr == null) {
            return;
        }
        switch (m.type()) {
            case APPEND_RESP -> {
                pr.sinceHeard = 0;
                if (m.reject()) {
                    long probeTo = m.rejectHint();
                    if (m.logTerm() > 0) {
                        // skip every index whose term is above the follower's hint term
                        probeTo = findConflictByTerm(Math.min(m.rejectHint(), log.lastIndex()), m.logTerm());
                    }
                    if (pr.maybeDecrTo(m.index(), probeTo)) {
                        if (pr.state == Progress.State.REPLICATE) {
                            pr.becomeProbe();
                        }
                        sendAppend(m.from(), true);
                    }
                    return;
                }
                boolean wasPaused = pr.isPaused(cfg);
                if (m.index() > log.lastIndex()) {
                    return; // cannot be (acks only what we sent); ignore defensively
                }
                if (learnCommit(m.commit()) && state != State.LEADER) {
                    return;
                }
                boolean updated = pr.maybeUpdate(m.index());
                if (pr.state == Progress.State.PROBE) {
                    pr.becomeReplicate(); // the follower matches through pr.match: pipeline from there
                }
                if (updated && maybeCommitAndStepDown()) {
                    if (state != State.LEADER) {
                        return;
                    }
                } else if (wasPaused) {
                    sendAppend(m.from(), false);
                }
                while (sendAppend(m.from(), false)) {
                    // keep the pipeline full
                }
                noticeCommitAfterAck(m.from(), pr);
                if (m.from().equals(leadTransferee) && pr.match == log.lastIndex()) {
                    send(Message.of(MessageType.TIMEOUT_NOW, id, m.from(), term));
                }
            }
            case HEARTBEAT_RESP -> {
                pr.sinceHeard = 0;
                pr.probeSent = false;
                if (learnCommit(m.commit()) && state != State.LEADER) {
                    return;
                }
                if (pr.inflightFull(cfg)) {
                    pr.freeFirstInflight();
                }
                if (pr.match < log.lastIndex()) {
                    sendAppend(m.from(), true);
                }
            }
            default -> {
            }
        }
    }

    /** §5.3/§5.4.2: commit the highest index a majority of voters durably stores, if it is of this term. */
    private boolean maybeCommit() {
        long[] match = new long[voters.size()];
        int k = 0;
        for (String v : voters) {
            match[k++] = progress.get(v).match;
        }
        Arrays.sort(match);
        // ascending position floor((n-1)/2): at least n/2+1 voters have match >= this value
        long mci = match[(match.length - 1) / 2];
        if (mci > commit && log.term(mci) == term) {
            commit = mci;
            return true;
        }
        return false;
    }

    /**
     * A follower's commit index is a fact about the group, whoever its leader was: every entry up
     * to it was durably stored by a majority in the term that committed it, and Leader
     * Completeness (§5.4.3) puts each of those entries in our log at the same index with the same
     * term. So a new leader that never heard the old leader's last commit adopts it from the
     * acknowledgements of followers that did, and committed messages stay readable on every node
     * without waiting for a write of the new term (no no-op entry; see the class comment). An
     * index beyond our log cannot come from a real commit; it is ignored. The same steps follow as
     * for a commit by counting ({@link #maybeCommitAndStepDown}).
     *
     * @return whether the commit index advanced
     */
    private boolean learnCommit(long followerCommit) {
        if (followerCommit <= commit || followerCommit > log.lastIndex()) {
            return false;
        }
        commit = followerCommit;
        afterCommitAdvanced();
        return true;
    }

    private boolean maybeCommitAndStepDown() {
        boolean c = maybeCommit();
        if (c) {
            afterCommitAdvanced();
        }
        return c;
    }

    /** Tells the followers the new commit index; steps down if it commits our own removal. */
    private void afterCommitAdvanced() {
        bcastCommit();
        maybeStepDownAfterRemoval();
    }

    /**
     * Followers learn a new commit index. A follower that has been sent every entry and has
     * acknowledged them all gets a COMMIT notice (no answer); one with an append still in flight
     * gets nothing now: its acknowledgement brings the notice ({@link #noticeCommitAfterAck}) unless
     * a later append has carried the commit by then, so under steady load most commits travel on
     * appends and a follower's commit trails the leader's by about one round trip. Any other
     * follower gets the append it is due (which carries the commit).
     */
    private void bcastCommit() {
        long last = log.lastIndex();
        for (String p : peers) {
            Progress pr = progress.get(p);
            if (pr != null && pr.state == Progress.State.REPLICATE && pr.next > last) {
                if (pr.hasInflight() || sendCommitNotice(p, pr)) {
                    continue;
                }
            }
            sendAppend(p, true);
        }
    }

    /**
     * After an acknowledgement from {@code p}: a follower that now holds every entry it was
     * sent, with nothing in flight, and was last told an older commit gets a notice. Together
     * with {@link #bcastCommit} this keeps the liveness of followers' commit indexes: the last
     * acknowledgement of a quiet pipeline always finds {@code commitSent < commit} answered.
     */
    private void noticeCommitAfterAck(String p, Progress pr) {
        if (pr.state == Progress.State.REPLICATE && pr.next > log.lastIndex() && !pr.hasInflight()
                && pr.commitSent < commit) {
            sendCommitNotice(p, pr);
        }
    }

    /** A COMMIT notice to {@code p} naming the entry before its next index; false if that entry's term is gone. */
    private boolean sendCommitNotice(String p, Progress pr) {
        long prevTerm = log.term(pr.next - 1);
        if (prevTerm == LogState.UNKNOWN) {
            return false;
        }
        send(new Message(MessageType.COMMIT, id, p, term, pr.next - 1, prevTerm, MessageBatch.empty(),
                commit, false, 0, false));
        pr.commitSent = commit;
        return true;
    }

    private void bcastAppend() {
        for (String p : peers) {
            sendAppend(p, true);
        }
    }

    /**
     * Sends {@code to} the entries from its next index (APPEND), or RESET when the entry before
     * next is no longer stored. Returns false when paused or (unless {@code sendIfEmpty}) when
     * there is nothing to send.
     */
    private boolean sendAppend(String to, boolean sendIfEmpty) {
        Progress pr = progress.get(to);
        if (pr == null || pr.isPaused(cfg)) {
            return false;
        }
        long prev = pr.next - 1;
        long prevTerm = log.term(prev);
        if (prevTerm == LogState.UNKNOWN || pr.next < log.firstIndex()) {
            // the follower needs entries we no longer have (also when prev = 0 matches but
            // index 1 is gone): restart it at our first index
            long f = log.firstIndex();
            MessageBatch ents = log.entries(f, cfg.maxAppendMessages(), cfg.maxAppendBytes());
            if (ents.isEmpty()) {
                return false;
            }
            List<Membership> cs = new ArrayList<>(2);
            for (Membership c : configs) {
                if (c.index() < f) {
                    cs.clear();
                    cs.add(c); // the base: the last configuration before F
                }
            }
            cs.addAll(configsIn(f, f + ents.count() - 1));
            send(new Message(MessageType.RESET, id, to, term, f, 0, ents, commit, false, 0, false, cs));
            pr.commitSent = commit;
            pr.state = Progress.State.PROBE;
            pr.probeSent = true;
            return true;
        }
        MessageBatch ents = pr.next <= log.lastIndex()
                ? log.entries(pr.next, cfg.maxAppendMessages(), cfg.maxAppendBytes())
                : MessageBatch.empty();
        if (ents.isEmpty() && !sendIfEmpty) {
            return false;
        }
        send(new Message(MessageType.APPEND, id, to, term, prev, prevTerm, ents, commit, false, 0, false,
                ents.isEmpty() ? List.of() : configsIn(prev + 1, prev + ents.count())));
        pr.sent(prev + ents.count(), ents.count(), ents.sizeBytes());
        pr.commitSent = commit;
        return true;
    }

    // ------------------------------------------------------------------ misc

    private void send(Message m) {
        msgs.add(m);
    }

    private void resetRandomizedElectionTimeout() {
        randomizedElectionTimeout = cfg.electionTicks() + rnd.nextInt(cfg.electionJitterTicks());
    }

    @Override
    public String toString() {
        return id + "{" + state + " t" + term + " vote=" + vote + " lead=" + lead + " first=" + log.firstIndex()
                + " last=" + log.lastIndex() + " commit=" + commit + "}";
    }
}
