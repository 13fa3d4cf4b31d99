package org.forestbus.raft.sim;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.forestbus.api.storage.HardState;
import org.forestbus.raft.core.RaftNode;

/**
 * Safety invariants, checked incrementally as the simulation runs (RELIABILITY §7-L1, §8):
 * election safety, log matching, leader completeness, committed prefix stability, per-node
 * monotonic commit and term, one vote per term, acknowledged writes committed at their indexes
 * forever, reads only of committed entries.
 */
final class SimChecker {
    private final List<String> violations = new ArrayList<>();
    /** term -> leader id. */
    private final Map<Long, String> leaders = new HashMap<>();
    /** index -> hash of the committed entry (term and bytes). */
    private final Map<Long, Long> committed = new HashMap<>();
    /**
     * index -> lowest term in which some node exposed it as committed: an upper bound (usually
     * exact) on the term of the leader that decided the commit, see {@link #checkLeaderCompleteness}.
     */
    private final Map<Long, Long> commitTerm = new HashMap<>();
    private long maxCommitted;
    /** (index, term) -> {hash, prevTerm or -1}: Log Matching. */
    private final Map<Long, Map<Long, long[]>> seen = new HashMap<>();
    /** node -> term -> vote (from saved hard states, across restarts). */
    private final Map<String, Map<Long, String>> votes = new HashMap<>();
    private final Map<String, HardState> lastSaved = new HashMap<>();
    /** acknowledged index -> hash. */
    private final Map<Long, Long> acked = new HashMap<>();
    private final Map<String, RaftNode.State> lastState = new HashMap<>();
    long reads;

    void violation(String what) {
        violationCount++;
        if (violations.size() < 5 && !violations.contains(what)) {
            violations.add(what);
        }
    }

    List<String> violations() {
        return violations;
    }

    private int violationCount;

    /** Number of violation events (the list keeps only the first distinct few). */
    int violationCount() {
        return violationCount;
    }

    long maxCommitted() {
        return maxCommitted;
    }

    Map<Long, Long> acked() {
        return acked;
    }

    // ---------------------------------------------------------------- storage hooks

    void onAppend(SimNode n, long index, SimLog.Entry e) {
        long prevTerm = index - 1 >= n.log.firstIndex() ? n.log.term(index - 1) : (index == 1 ? 0 : -1);
        long[] v = seen.computeIfAbsent(index, k -> new HashMap<>()).putIfAbsent(e.term(), new long[] {e.hash(), prevTerm});
        if (v != null && (v[0] != e.hash() || (v[1] >= 0 && prevTerm >= 0 && v[1] != prevTerm))) {
            violation("log matching: node " + n.id + " index " + index + " term " + e.term() + " differs from another log's entry");
        }
        if (v != null && v[1] < 0 && prevTerm >= 0) {
            v[1] = prevTerm;
        }
        Long c = committed.get(index);
        if (c != null && index <= n.exposedCommit && c != e.hash()) {
            violation("node " + n.id + " overwrote committed index " + index);
        }
    }

    long truncations;
    long resets;
    long elections;

    void onTruncate(SimNode n, long from) {
        truncations++;
        if (from <= n.exposedCommit) {
            violation("node " + n.id + " truncates from " + from + " at or below its commit " + n.exposedCommit);
        }
        checkNoCommittedRemoved(n, from, "truncation");
    }

    /**
     * A committed entry held at index i is never removed by a node in the entry's commit term or
     * later (only entries below a RESET point may go): every leader from that term on holds it
     * (Leader Completeness), so nobody may be told to drop it. A node still in an older term may:
     * a stale leader's append can replace a copy on a lagging follower (seed 38273: n2 in term 3
     * drops the term-1 entry 59 that term 4 committed without it); the majority that committed it
     * is in term 4 and refuses term-3 appends, and the follower never exposed it.
     */
    private void checkNoCommittedRemoved(SimNode n, long from, String how) {
        long term = n.core.term();
        for (long i = Math.max(from, n.log.firstIndex()); i <= n.log.lastIndex(); i++) {
            Long c = committed.get(i);
            if (c != null && c == n.log.entry(i).hash() && term >= commitTerm.get(i)) {
                violation("node " + n.id + " " + how + " from " + from + " removes committed index " + i);
                return;
            }
        }
    }

    void onReset(SimNode n, long first) {
        resets++;
        if (first - 1 > maxCommitted) {
            violation("node " + n.id + " reset to " + first + " above the committed prefix " + maxCommitted);
        }
        checkNoCommittedRemoved(n, first, "reset");
    }

    void onSaveHardState(SimNode n, HardState hs) {
        HardState prev = lastSaved.get(n.id);
        if (prev != null) {
            if (hs.term() < prev.term()) {
                violation("node " + n.id + " persisted term went back " + prev.term() + " -> " + hs.term());
            }
            if (hs.commitIndex() < prev.commitIndex()) {
                violation("node " + n.id + " persisted commit went back " + prev.commitIndex() + " -> " + hs.commitIndex());
            }
        }
        lastSaved.put(n.id, hs);
        if (hs.votedFor() != null) {
            String old = votes.computeIfAbsent(n.id, k -> new HashMap<>()).putIfAbsent(hs.term(), hs.votedFor());
            if (old != null && !old.equals(hs.votedFor())) {
                violation("node " + n.id + " voted twice in term " + hs.term() + ": " + old + " and " + hs.votedFor());
            }
        }
    }

    /**
     * The driver exposed commit index {@code to} (was {@code from}) while its node was in term
     * {@code term}: record / compare committed entries.
     */
    void onExpose(SimNode n, long from, long to, long term) {
        for (long i = Math.max(from + 1, n.log.firstIndex()); i <= to; i++) {
            long h = n.log.entry(i).hash();
            Long old = committed.putIfAbsent(i, h);
            if (old != null && old != h) {
                violation("committed entry changed at index " + i + " (node " + n.id + ")");
            }
            commitTerm.merge(i, term, Math::min);
        }
        maxCommitted = Math.max(maxCommitted, to);
    }

    void onRestart(SimNode n) {
        for (long i = n.log.firstIndex(); i <= n.exposedCommit; i++) {
            Long c = committed.get(i);
            if (c != null && c != n.log.entry(i).hash()) {
                violation("node " + n.id + " restarted with a different committed entry at " + i);
            }
        }
        lastState.remove(n.id);
    }

    // ---------------------------------------------------------------- client hooks

    void onAck(long first, long[] hashes, String node) {
        for (int k = 0; k < hashes.length; k++) {
            long i = first + k;
            Long c = committed.get(i);
            if (c == null || c != hashes[k]) {
                violation("acknowledged index " + i + " (via " + node + ") is not committed with the acknowledged entry");
            }
            acked.put(i, hashes[k]);
        }
    }

    void onRead(SimNode n, long index, long hash) {
        reads++;
        Long c = committed.get(index);
        if (index > n.exposedCommit || c == null || c != hash) {
            violation("read of uncommitted or different entry at " + index + " on " + n.id);
        }
    }

    // ---------------------------------------------------------------- after every event

    void afterEvent(Iterable<SimNode> nodes) {
        for (SimNode n : nodes) {
            if (!n.alive) {
                continue;
            }
            RaftNode c = n.core;
            if (c.commitIndex() < n.lastCoreCommit) {
                violation("node " + n.id + " commit index went back " + n.lastCoreCommit + " -> " + c.commitIndex());
            }
            if (c.term() < n.lastCoreTerm) {
                violation("node " + n.id + " term went back");
            }
            n.lastCoreCommit = c.commitIndex();
            n.lastCoreTerm = c.term();
            RaftNode.State prev = lastState.put(n.id, c.state());
            if (c.state() == RaftNode.State.LEADER) {
                String l = leaders.putIfAbsent(c.term(), n.id);
                if (l != null && !l.equals(n.id)) {
                    violation("two leaders in term " + c.term() + ": " + l + " and " + n.id);
                }
                if (prev != RaftNode.State.LEADER) {
                    elections++;
                    checkLeaderCompleteness(n);
                }
            }
        }
    }

    /**
     * Leader Completeness (Raft §5.4): an entry committed in term U is in the log of every
     * leader of a term <em>above</em> U. A leader of a term at or below U may legitimately lack
     * it: a candidate of an old term can still win, later in real time, with vote replies that
     * were delayed in the network (its term is already stale; it learns the newer term from the
     * first reply and steps down, and a majority that moved on never accepts its appends). So
     * only entries whose commit term is below the new leader's term are checked.
     *
     * <p>U is taken as the lowest term in which any node exposed the index as committed. A node
     * exposes a commit index only in the term of the leader that decided it or a later one (the
     * leader itself in that term, followers once they accepted its message), so this bound is
     * never below U and the check gives no false alarm; it is exact whenever the deciding leader
     * exposed the commit before leaving its term, which is the normal case.
     */
    private void checkLeaderCompleteness(SimNode n) {
        RaftNode c = n.core;
        for (long i = Math.max(1, n.log.firstIndex()); i <= maxCommitted; i++) {
            Long h = committed.get(i);
            if (h != null && commitTerm.get(i) < c.term() && (i > n.log.lastIndex() || n.log.entry(i).hash() != h)) {
                violation("leader completeness: " + n.id + " (term " + c.term() + ") lacks index " + i + " committed in term "
                        + commitTerm.get(i));
                return;
            }
        }
    }

    /** Final check: every acknowledged entry is committed, and stored by every node that exposes it. */
    void finalCheck(Iterable<SimNode> nodes) {
        for (Map.Entry<Long, Long> a : acked.entrySet()) {
            Long c = committed.get(a.getKey());
            if (c == null || !c.equals(a.getValue())) {
                violation("acknowledged index " + a.getKey() + " lost");
            }
            for (SimNode n : nodes) {
                long i = a.getKey();
                if (i >= n.log.firstIndex() && i <= Math.min(n.exposedCommit, n.log.lastIndex())
                        && n.log.entry(i).hash() != a.getValue()) {
                    violation("node " + n.id + " holds a different entry at acknowledged index " + i);
                }
            }
        }
    }
}
