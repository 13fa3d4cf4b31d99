package org.forestbus.raft.core;

import java.util.List;
import java.util.Objects;
import org.forestbus.api.MessageBatch;

/**
 * One Raft message between two nodes of a topic's group (etcd-raft's {@code pb.Message}). The
 * codec lives in the driver; the core never serialises. Field meaning by {@link #type()}:
 *
 * <table>
 * <caption>fields per type</caption>
 * <tr><th>type</th><th>index</th><th>logTerm</th><th>entries</th><th>commit</th><th>reject / hint</th></tr>
 * <tr><td>PRE_VOTE, VOTE</td><td>candidate's last index</td><td>its last term</td><td>-</td><td>-</td><td>-; {@code transfer} = campaign after TIMEOUT_NOW</td></tr>
 * <tr><td>*_VOTE_RESP</td><td>-</td><td>-</td><td>-</td><td>-</td><td>reject = not granted</td></tr>
 * <tr><td>APPEND</td><td>prevIndex</td><td>prevTerm</td><td>entries from prevIndex+1</td><td>leader commit</td><td>-</td></tr>
 * <tr><td>RESET</td><td>leader's first index F</td><td>-</td><td>entries from F (at least one)</td><td>leader commit</td><td>-</td></tr>
 * <tr><td>APPEND_RESP</td><td>success: highest index known to match the leader; reject: the rejected prevIndex</td><td>reject: hint term</td><td>-</td><td>-</td><td>rejectHint = conflict hint index</td></tr>
 * <tr><td>HEARTBEAT</td><td>-</td><td>-</td><td>-</td><td>min(leader commit, follower match)</td><td>-</td></tr>
 * <tr><td>HEARTBEAT_RESP, TIMEOUT_NOW</td><td>-</td><td>-</td><td>-</td><td>-</td><td>-</td></tr>
 * </table>
 *
 * <p>{@code configs} (APPEND, RESET): the {@link Membership} records whose carrier entries are
 * among {@code entries}; for RESET also the last one before F (the base configuration).
 *
 * <p>{@code entries} is never null (use {@link MessageBatch#empty()}); its bytes are the v0
 * messages with terms stamped, shared with the log: do not modify.
 */
public record Message(MessageType type, String from, String to, long term, long index, long logTerm,
                      MessageBatch entries, long commit, boolean reject, long rejectHint, boolean transfer,
                      List<Membership> configs) {

    public Message {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(entries, "entries");
        configs = configs == null ? List.of() : List.copyOf(configs);
    }

    /** A message without configurations. */
    public Message(MessageType type, String from, String to, long term, long index, long logTerm,
                   MessageBatch entries, long commit, boolean reject, long rejectHint, boolean transfer) {
        this(type, from, to, term, index, logTerm, entries, commit, reject, rejectHint, transfer, List.of());
    }

    static Message of(MessageType type, String from, String to, long term) {
        return new Message(type, from, to, term, 0, 0, MessageBatch.empty(), 0, false, 0, false);
    }

    @Override
    public String toString() {
        return type + "{" + from + "->" + to + " t" + term + " i" + index + " lt" + logTerm
                + (entries.isEmpty() ? "" : " n" + entries.count()) + " c" + commit
                + (reject ? " REJECT hint=" + rejectHint : "") + (transfer ? " transfer" : "")
                + (configs.isEmpty() ? "" : " configs=" + configs) + "}";
    }
}
