package org.forestbus.api;

/** A write reached a node that does not lead the topic. {@link #leader()} names the last known leader's node name, or is {@code null}. */
public final class NotLeaderException extends ForestBusException {
    private static final long serialVersionUID = 1L;
    private final String leader;

    public NotLeaderException(String topic, String leader) {
        super(ErrorCode.NOT_LEADER, "this node is not the leader of topic " + topic
                + (leader == null ? "; no leader is known" : "; last seen leader is " + leader));
        this.leader = leader;
    }

    /** Node name of the last seen leader, or {@code null} when none is known. */
    public String leader() {
        return leader;
    }
}
