package org.forestbus.raft.core;

/** Kinds of {@link Message}. See {@link Message} for the fields each one uses. */
public enum MessageType {
    /** PreVote request (thesis §9.6): carries the term the sender would campaign in; changes no state. */
    PRE_VOTE,
    PRE_VOTE_RESP,
    VOTE,
    VOTE_RESP,
    /** AppendEntries, also used as an empty probe. */
    APPEND,
    APPEND_RESP,
    /** Snapshot-less InstallSnapshot: restart the follower's log at the leader's first index. */
    RESET,
    HEARTBEAT,
    HEARTBEAT_RESP,
    /** Leadership transfer: the receiver campaigns at once, bypassing PreVote and leases. */
    TIMEOUT_NOW,
    /**
     * Commit notice: an empty AppendEntries that wants no answer, sent when the commit index
     * advances and the follower has been sent every entry ({@code index}/{@code logTerm} are the
     * last entry sent to it). A follower whose log holds that entry adopts
     * {@code min(commit, index)}; otherwise it ignores the notice. Halves the messages per commit
     * compared with an empty APPEND and its APPEND_RESP.
     */
    COMMIT
}
