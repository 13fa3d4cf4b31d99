package org.forestbus.api;

/** A node's role in one topic's Raft group. */
public enum Role {
    LEADER, FOLLOWER, CANDIDATE;

    /** Lower-case name used by the HTTP API and shell. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
