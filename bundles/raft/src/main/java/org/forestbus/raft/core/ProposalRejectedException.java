package org.forestbus.raft.core;

/** {@link RaftNode#propose} refused a batch; nothing was appended. */
public final class ProposalRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a proposal was refused. */
    public enum Reason {
        NOT_LEADER, TRANSFERRING_LEADERSHIP, EMPTY_BATCH,
        /** A membership change is uncommitted, or no entry of the leader's term is committed yet. */
        CONFIG_CHANGE_PENDING
    }

    private final Reason reason;
    private final String leader;

    ProposalRejectedException(Reason reason, String leader) {
        super(reason + (leader == null ? "" : " (leader " + leader + ")"), null, false, false);
        this.reason = reason;
        this.leader = leader;
    }

    public Reason reason() {
        return reason;
    }

    /** Last known leader, or null. */
    public String leader() {
        return leader;
    }
}
