package org.forestbus.raft.core;

import java.util.List;
import java.util.TreeSet;

/**
 * One membership configuration of a topic's Raft group and the log entry that carries it.
 *
 * <p>A configuration takes effect on a node as soon as its carrier entry is in that node's log
 * (committed or not; thesis §4.1) and is undone if that entry is truncated. The bootstrap
 * configuration has {@code index == 0, term == 0}. The carrier of a change is an empty
 * (zero-length) message appended by the leader, so it consumes one client-visible index:
 * readers see an empty payload there. The list of configurations is replicated beside the
 * entries in APPEND/RESET messages (never inside message bytes, so clients cannot forge one)
 * and persisted by the driver from {@link Ready#membership()}.
 *
 * @param index    index of the carrier entry (0 for bootstrap)
 * @param term     term of the carrier entry (0 for bootstrap); with index it identifies the entry
 * @param voters   voting members, sorted
 * @param learners non-voting members, sorted, disjoint from voters
 */
public record Membership(long index, long term, List<String> voters, List<String> learners) {

    public Membership {
        voters = List.copyOf(new TreeSet<>(voters));
        learners = List.copyOf(new TreeSet<>(learners));
        for (String l : learners) {
            if (voters.contains(l)) {
                throw new IllegalArgumentException(l + " is both voter and learner");
            }
        }
        if (voters.isEmpty()) {
            throw new IllegalArgumentException("no voters");
        }
    }

    /** The bootstrap configuration. */
    public static Membership bootstrap(List<String> voters, List<String> learners) {
        return new Membership(0, 0, voters, learners);
    }

    boolean contains(String id) {
        return voters.contains(id) || learners.contains(id);
    }
}
