package org.forestbus.api.storage;

/**
 * Raft state that must survive a crash: the current term, the vote cast in it ({@code null}
 * for none) and the highest index known committed.
 */
public record HardState(long term, String votedFor, long commitIndex) {
    public static final HardState INITIAL = new HardState(0, null, 0);
}
