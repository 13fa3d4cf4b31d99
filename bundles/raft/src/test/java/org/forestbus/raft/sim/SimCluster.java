package org.forestbus.raft.sim;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.forestbus.api.MessageBatch;
import org.forestbus.raft.core.Message;
import org.forestbus.raft.core.ProposalRejectedException;
import org.forestbus.raft.core.RaftConfig;
import org.forestbus.raft.core.RaftNode;

/**
 * N {@link SimNode}s over a {@link SimNetwork}, driven by one seeded event queue in virtual
 * milliseconds. Single-threaded and deterministic: same seed and same calls give the same
 * {@link #traceHash()}. Every event is followed by the {@link SimChecker} invariants.
 *
 * <p>Ticks every {@link #TICK_MS} per node (each node with its own phase). A node persisting a
 * Ready takes {@code syncDelayMs} (0..maxSyncMs) before it sends and advances; its inputs wait
 * meanwhile, and a crash or power loss can strike in between.
 */
final class SimCluster {
    static final int TICK_MS = 50;

    private record Event(long time, long seq, int kind, int node, int incarnation, Message msg, Runnable action)
            implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            return time != o.time ? Long.compare(time, o.time) : Long.compare(seq, o.seq);
        }
    }

    private static final int TICK = 0;
    private static final int DELIVER = 1;
    private static final int SYNC = 2;
    private static final int ACTION = 3;

    final SplittableRandom rnd;
    final SimNetwork net;
    final SimChecker checker = new SimChecker();
    final RaftConfig cfg;
    final List<String> ids = new ArrayList<>();
    final Map<String, SimNode> nodes = new LinkedHashMap<>();
    private final Map<String, ArrayDeque<Event>> deferred = new LinkedHashMap<>();
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private long seq;
    long now;
    long events;
    private long trace = 17;
    /**
     * {@code -Dsim.trace=true}: print every event (deliveries, drops, Readies, syncs, faults,
     * proposals, acks) and every node's state change, for replaying one seed. Costs one boolean
     * test per event when off.
     */
    static final boolean TRACE = Boolean.getBoolean("sim.trace");
    private final Map<String, String> tracedState = new LinkedHashMap<>();

    /** Prints {@code what} at the current virtual time when tracing. */
    void trace(String what) {
        if (TRACE) {
            System.out.println("  [" + now + "] " + what);
        }
    }

    private void traceStates() {
        for (SimNode n : nodes.values()) {
            String s = n.alive ? n.core.toString() + " exposed=" + n.exposedCommit + " durable=" + n.log.describe() : n.id + " DOWN";
            if (!s.equals(tracedState.put(n.id, s))) {
                trace("state " + s);
            }
        }
    }
    int maxSyncMs;
    /** Planted bug for the checker's self-test: a pipelining leader counts itself before its fsync. */
    boolean plantEarlyDurable;
    long pipelinedReadies;
    /** Leaders handle pipelinable Readies without waiting for their fsync (half of the seeds). */
    final boolean pipelining;
    /** Planted bug for the checker's self-test: every node's fsync is a no-op (the original's OSSYNC). */
    void plantLyingFsync() {
        for (SimNode n : nodes.values()) {
            n.log.lyingFsync = true;
        }
    }
    /** Pending client writes by node. */
    private final List<Write> writes = new ArrayList<>();
    long acks;
    long membershipChanges;
    /**
     * Writes whose client gave up waiting ({@link #expireWrites}) while their node still leads
     * in their term: never acknowledged, but still watched for the liveness check.
     */
    private final List<Write> abandoned = new ArrayList<>();
    /**
     * Last time a write was seen committed in its term: acknowledged, or committed after its
     * client gave up. The liveness check asks that a write commits after the heal; the client's
     * patience (3 s) is a workload setting and must not decide it (seed 10747: a healed but
     * backlogged cluster committed every new write in 5-7 s, all after their clients gave up).
     */
    long lastCommitTime = -1;

    /** A proposed batch waiting for its commit. */
    static final class Write {
        final SimNode node;
        final int incarnation;
        final long term;
        final long first;
        final long[] hashes;
        final long proposedAt;
        Boolean outcome; // null = waiting, TRUE = acknowledged, FALSE = unknown (gave up)

        Write(SimNode node, long term, long first, long[] hashes, long proposedAt) {
            this.node = node;
            this.incarnation = node.incarnation;
            this.term = term;
            this.first = first;
            this.hashes = hashes;
            this.proposedAt = proposedAt;
        }

        long last() {
            return first + hashes.length - 1;
        }
    }

    SimCluster(long seed, int voters, int learners, RaftConfig cfg) {
        this(seed, voters, learners, 0, cfg);
    }

    /** {@code spares} extra nodes run outside the configuration until a membership change adds them. */
    SimCluster(long seed, int voters, int learners, int spares, RaftConfig cfg) {
        this.rnd = new SplittableRandom(seed);
        this.pipelining = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 11).nextBoolean(); // not from rnd: traces of
        // seeds without pipelining stay what they were
        this.net = new SimNetwork(rnd.split());
        this.cfg = cfg;
        List<String> v = new ArrayList<>();
        List<String> l = new ArrayList<>();
        for (int i = 1; i <= voters + learners + spares; i++) {
            String id = "n" + i;
            ids.add(id);
            if (i <= voters) {
                v.add(id);
            } else if (i <= voters + learners) {
                l.add(id);
            }
        }
        for (String id : ids) {
            nodes.put(id, new SimNode(id, v, l, cfg, rnd.nextLong(), checker));
            deferred.put(id, new ArrayDeque<>());
        }
        for (int i = 0; i < ids.size(); i++) {
            scheduleTick(i, 1 + rnd.nextInt(TICK_MS));
        }
    }

    SimNode node(String id) {
        return nodes.get(id);
    }

    long traceHash() {
        return trace;
    }

    private void scheduleTick(int node, long delay) {
        queue.add(new Event(now + delay, seq++, TICK, node, 0, null, null));
    }

    /** Runs {@code action} at virtual time now + delay. */
    void at(long delay, Runnable action) {
        queue.add(new Event(now + delay, seq++, ACTION, -1, 0, null, action));
    }

    /** Processes events up to virtual time {@code until}. */
    void runUntil(long until) {
        while (!queue.isEmpty() && queue.peek().time <= until) {
            step(queue.poll());
        }
        now = Math.max(now, until);
    }

    void runFor(long ms) {
        runUntil(now + ms);
    }

    /** Runs until {@code cond} holds or {@code ms} pass; returns whether it held. */
    boolean runUntil(BooleanSupplier cond, long ms) {
        long end = now + ms;
        while (!cond.getAsBoolean()) {
            if (queue.isEmpty() || queue.peek().time > end) {
                now = end;
                return cond.getAsBoolean();
            }
            step(queue.poll());
        }
        return true;
    }

    private void step(Event e) {
        now = e.time;
        events++;
        trace = trace * 1_000_003L + e.time * 31 + e.kind * 7 + e.node;
        try {
            dispatch(e);
        } catch (RuntimeException ex) {
            String who = e.msg != null ? e.msg.to() : e.node >= 0 ? ids.get(e.node) : "action";
            checker.violation("event on " + who + " threw " + ex);
            if (nodes.containsKey(who)) {
                crash(who);
            }
        }
        int before = checker.violationCount();
        checker.afterEvent(nodes.values());
        if (TRACE) {
            traceStates();
            if (checker.violationCount() != before) {
                trace("VIOLATION " + checker.violations());
            }
        }
    }

    private void dispatch(Event e) {
        switch (e.kind) {
            case TICK -> {
                SimNode n = nodes.get(ids.get(e.node));
                scheduleTick(e.node, TICK_MS);
                if (n.alive) {
                    if (n.outstanding != null) {
                        deferred.get(n.id).add(e);
                    } else {
                        n.core.tick();
                        drain(n);
                    }
                }
            }
            case DELIVER -> {
                Message m = e.msg;
                trace = trace * 31 + m.type().ordinal() * 131 + m.term() * 17 + m.index() + (m.reject() ? 1 : 0)
                        + m.entries().count() * 1009L + m.commit() * 7;
                SimNode n = nodes.get(m.to());
                if (n == null || !n.alive || !net.connected(m.from(), m.to())) {
                    if (TRACE) {
                        trace("lost " + m + (n == null || !n.alive ? " (down)" : " (cut)"));
                    }
                    return;
                }
                if (TRACE) {
                    trace("deliver " + m + (n.outstanding != null ? " (deferred)" : ""));
                }
                if (n.outstanding != null) {
                    deferred.get(n.id).add(e);
                } else {
                    n.core.step(m);
                    drain(n);
                }
            }
            case SYNC -> {
                SimNode n = nodes.get(ids.get(e.node));
                if (n.alive && n.incarnation == e.incarnation && n.outstanding != null) {
                    finishReady(n);
                }
            }
            case ACTION -> e.action.run();
            default -> throw new IllegalStateException();
        }
    }

    /** Takes Readies until none is left or one is waiting for its (simulated) fsync. */
    void drain(SimNode n) {
        try {
            while (n.alive && n.outstanding == null && n.beginReady()) {
                if (pipelining && n.outstanding.pipelinable()) {
                    pipelinedReadies++;
                    long last = n.outstanding.lastEntryIndex();
                    boolean wrote = !n.outstanding.entries().isEmpty();
                    send(n.completePipelined());
                    if (wrote && plantEarlyDurable) {
                        n.core.durable(last, n.core.term()); // the planted bug: no wait for the fsync
                    }
                    checkWrites(n);
                    if (wrote) {
                        backgroundSync(n, last, n.core.term());
                    }
                    continue;
                }
                n.pipelineEpoch++;
                int d = maxSyncMs == 0 ? 0 : rnd.nextInt(maxSyncMs + 1);
                if (TRACE) {
                    trace("ready " + n.id + " " + n.outstanding + " sync " + d + "ms");
                }
                if (d == 0) {
                    finishReady(n);
                    return; // finishReady drains recursively
                }
                queue.add(new Event(now + d, seq++, SYNC, ids.indexOf(n.id), n.incarnation, null, null));
                return;
            }
        } catch (RuntimeException ex) {
            checker.violation("node " + n.id + " threw " + ex);
            n.crash();
        }
    }

    /**
     * The fsync of a pipelined Ready, completing after 0..maxSyncMs: only then are its entries
     * durable (a power loss before drops them) and does the leader count itself for them.
     */
    private void backgroundSync(SimNode n, long last, long term) {
        int inc = n.incarnation;
        long epoch = n.pipelineEpoch;
        int d = maxSyncMs == 0 ? 0 : rnd.nextInt(maxSyncMs + 1);
        queue.add(new Event(now + d, seq++, ACTION, -1, 0, null, () -> {
            if (!n.alive || n.incarnation != inc || n.pipelineEpoch != epoch) {
                return; // crashed, or a later full sync covers it
            }
            n.log.syncUpTo(last);
            if (n.outstanding == null) { // (a non-pipelined Ready would have bumped the epoch)
                n.core.durable(last, term);
                drain(n);
            }
        }));
    }

    private void finishReady(SimNode n) {
        List<Message> out = n.completeReady();
        if (TRACE) {
            trace("synced " + n.id + ", sends " + out.size());
        }
        send(out);
        checkWrites(n);
        // replay every input that arrived while persisting, then take one Ready for all of them
        // (a driver batches like this; one Ready per input could never catch up with a slow disk)
        ArrayDeque<Event> q = deferred.get(n.id);
        while (!q.isEmpty() && n.alive) {
            Event e = q.poll();
            if (e.kind == TICK) {
                n.core.tick();
            } else {
                n.core.step(e.msg);
            }
        }
        drain(n);
    }

    private void send(List<Message> out) {
        for (Message m : out) {
            int[] ds = net.delays(m.from(), m.to());
            if (TRACE && ds.length != 1) {
                trace((ds.length == 0 ? "drop " : "duplicate ") + m);
            }
            for (int d : ds) {
                queue.add(new Event(now + d, seq++, DELIVER, -1, 0, m, null));
            }
        }
    }

    // ------------------------------------------------------------------ faults

    void crash(String id) {
        trace("CRASH " + id);
        SimNode n = nodes.get(id);
        n.crash();
        deferred.get(id).clear();
    }

    void powerLoss(String id) {
        SimNode n = nodes.get(id);
        String before = TRACE ? n.log.describe() : null;
        n.powerLoss();
        trace("POWER LOSS " + id + " log " + before + " -> " + n.log.describe() + " hs=" + n.log.hardState());
        deferred.get(id).clear();
    }

    void restart(String id) {
        SimNode n = nodes.get(id);
        if (!n.alive) {
            n.restart();
            trace("RESTART " + n.core + " hs=" + n.log.hardState());
            drain(n);
        }
    }

    /** Retention on {@code id}: drops a committed prefix, keeping at least the last entry. */
    void retain(String id, long newFirst) {
        SimNode n = nodes.get(id);
        if (!n.alive || n.outstanding != null) {
            return;
        }
        long max = Math.min(n.exposedCommit, n.log.lastIndex() - 1) + 1;
        long f = Math.min(newFirst, max);
        if (f > n.log.firstIndex()) {
            trace("retain " + id + " from " + f);
            n.log.dropPrefix(f);
        }
    }

    // ------------------------------------------------------------------ queries

    /** The alive leader with the highest term, or null. */
    SimNode leader() {
        SimNode best = null;
        for (SimNode n : nodes.values()) {
            if (n.alive && n.core.state() == RaftNode.State.LEADER && (best == null || n.core.term() > best.core.term())) {
                best = n;
            }
        }
        return best;
    }

    // ------------------------------------------------------------------ clients

    private long nextPayload;

    /** Builds a batch of {@code count} unique payloads. */
    MessageBatch newBatch(int count) {
        List<byte[]> p = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ByteBuffer b = ByteBuffer.allocate(8 + rnd.nextInt(24));
            b.putLong(nextPayload++);
            p.add(b.array());
        }
        return MessageBatch.of(p);
    }

    /** Proposes a batch on {@code n} now; null when refused or the node is busy. */
    Write propose(SimNode n, int count) {
        if (!n.alive || n.outstanding != null) {
            return null;
        }
        MessageBatch b = newBatch(count);
        long first;
        try {
            first = n.core.propose(b);
        } catch (ProposalRejectedException e) {
            return null;
        }
        long[] hashes = new long[b.count()];
        ByteBuffer all = b.buffer();
        for (int i = 0; i < b.count(); i++) {
            byte[] bytes = new byte[b.offset(i + 1) - b.offset(i)];
            all.get(b.offset(i), bytes);
            hashes[i] = SimLog.hash(bytes);
        }
        Write w = new Write(n, n.core.term(), first, hashes, now);
        trace("propose on " + n.id + " t" + w.term + " " + first + ".." + w.last());
        writes.add(w);
        trace = trace * 31 + first;
        drain(n);
        checker.afterEvent(nodes.values());
        return w;
    }

    /** Acknowledges writes whose last index the node exposed as committed in the proposal's term. */
    private void checkWrites(SimNode n) {
        for (int i = 0; i < writes.size(); i++) {
            Write w = writes.get(i);
            if (w.node != n) {
                continue;
            }
            if (!n.alive || n.incarnation != w.incarnation) {
                w.outcome = false;
            } else if (n.exposedCommit >= w.last()) {
                if (n.log.lastIndex() >= w.last() && n.log.firstIndex() <= w.last() && n.log.term(w.last()) == w.term) {
                    w.outcome = true;
                    acks++;
                    lastCommitTime = now;
                    trace("ack " + w.first + ".." + w.last() + " via " + n.id);
                    checker.onAck(w.first, w.hashes, n.id);
                } else {
                    w.outcome = false;
                }
            } else if (n.core.term() != w.term) {
                w.outcome = false; // leadership lost before commit: outcome unknown to the client
            }
            if (w.outcome != null) {
                writes.remove(i--);
            }
        }
        abandoned.removeIf(w -> {
            if (w.node != n) {
                return false;
            }
            if (!n.alive || n.incarnation != w.incarnation) {
                return true;
            }
            if (n.exposedCommit >= w.last()) {
                if (n.log.lastIndex() >= w.last() && n.log.firstIndex() <= w.last() && n.log.term(w.last()) == w.term) {
                    lastCommitTime = now;
                    trace("committed (client gave up) " + w.first + ".." + w.last() + " via " + n.id);
                }
                return true;
            }
            return n.core.term() != w.term;
        });
    }

    /** Gives up on writes older than {@code ms}. */
    void expireWrites(long ms) {
        writes.removeIf(w -> {
            boolean gone = !w.node.alive || w.node.incarnation != w.incarnation;
            if (gone || now - w.proposedAt > ms) {
                w.outcome = false;
                if (!gone) {
                    abandoned.add(w);
                }
                return true;
            }
            return false;
        });
    }

    int pendingWrites() {
        return writes.size();
    }

    /** A reader reads one committed index from {@code n}'s durable log. */
    void read(SimNode n) {
        if (!n.alive) {
            return;
        }
        long lo = Math.max(1, n.log.firstIndex());
        long hi = Math.min(n.exposedCommit, n.log.lastIndex());
        if (hi < lo) {
            return;
        }
        long i = lo + rnd.nextLong(hi - lo + 1);
        checker.onRead(n, i, n.log.entry(i).hash());
    }
}
