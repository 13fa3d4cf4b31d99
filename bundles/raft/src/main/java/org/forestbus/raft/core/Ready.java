package org.forestbus.raft.core;

import java.util.List;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.HardState;

/**
 * Everything a {@link RaftNode} wants done since the previous {@link RaftNode#advance(Ready)}.
 * The driver processes it in this order, then calls {@code advance(ready)}:
 *
 * <ol>
 * <li>{@link #resetTo()} (if not 0): discard the whole log and restart it empty at that index;
 *     otherwise {@link #truncateFrom()} (if not 0): remove that index and every later one;</li>
 * <li>save {@link #membership()} if not null (durably);</li>
 * <li>append {@link #entries()} in order; the first one gets index {@link #firstEntryIndex()};</li>
 * <li>make the log durable (fsync) if anything was appended;</li>
 * <li>save {@link #hardState()} if not null (durably when {@link #mustSaveHardState()});</li>
 * <li>only now send {@link #messages()}: every message of a Ready may reveal its entries and its
 *     hard state (a vote, an acknowledgement) and so may leave only once they are durable. One
 *     exception is safe (Raft thesis §10.2.1): a leader's APPEND/HEARTBEAT messages from a Ready
 *     that changes no term or vote may leave while the leader's own entries are being written,
 *     because the leader counts its own copy toward the quorum only from {@code advance};</li>
 * <li>entries up to {@link #commitIndex()} are committed: complete the clients whose proposals
 *     ({@code firstIndex}, term) have their last index {@code <= commitIndex} and whose term is
 *     still the log's term at that last index; expose reads up to {@code commitIndex}.</li>
 * </ol>
 *
 * <p>{@code advance(ready)} tells the node that steps 1-4 are durable; the leader only then counts
 * its own copy of the entries toward the commit quorum.
 *
 * <p><b>Leader pipelining.</b> When {@link #pipelinable()} (a leader's Ready that changes no term
 * or vote, truncates and resets nothing, carries no membership and sends only
 * APPEND/HEARTBEAT/RESET), the driver may instead append the entries, send the messages, answer
 * the clients up to {@link #commitIndex()} (committed means durable on a majority, which
 * the leader's own copy is not part of unless it was durable), call
 * {@link RaftNode#advanceWritten(Ready)} at once and report the background fsync with
 * {@link RaftNode#durable(long, long)}: the next Ready can then be written while the previous
 * one syncs. A later non-pipelinable Ready must sync the whole log before its
 * {@code advance}, which declares everything durable.
 */
public final class Ready {
    private final HardState hardState;
    private final boolean mustSaveHardState;
    private final List<Membership> membership;
    private final long resetTo;
    private final long truncateFrom;
    private final long firstEntryIndex;
    private final List<MessageBatch> entries;
    private final List<Message> messages;
    private final long previousCommitIndex;
    private final long commitIndex;
    private final boolean pipelinable;

    Ready(HardState hardState, boolean mustSaveHardState, List<Membership> membership, long resetTo, long truncateFrom, long firstEntryIndex,
          List<MessageBatch> entries, List<Message> messages, long previousCommitIndex, long commitIndex,
          boolean pipelinable) {
        this.pipelinable = pipelinable;
        this.hardState = hardState;
        this.mustSaveHardState = mustSaveHardState;
        this.membership = membership;
        this.resetTo = resetTo;
        this.truncateFrom = truncateFrom;
        this.firstEntryIndex = firstEntryIndex;
        this.entries = List.copyOf(entries);
        this.messages = List.copyOf(messages);
        this.previousCommitIndex = previousCommitIndex;
        this.commitIndex = commitIndex;
    }

    /** True when this Ready may be handled with {@link RaftNode#advanceWritten} (see the class comment). */
    public boolean pipelinable() {
        return pipelinable;
    }

    /** Hard state to save, or null when unchanged. */
    public HardState hardState() {
        return hardState;
    }

    /**
     * True when the term or vote changed: the hard state must then be durable before any
     * message is sent. When false, only the commit index moved; saving it may be deferred
     * (the commit index is re-learned from the leader; persisting it only shortens the wait
     * for readers after a full restart).
     */
    public boolean mustSaveHardState() {
        return mustSaveHardState;
    }

    /**
     * The node's configuration list when it changed, else null. Save it durably after step 1
     * (reset/truncate) and before step 2 (append): the node drops, on restart, configurations
     * whose carrier entries did not survive, but cannot recover one it was never given.
     */
    public List<Membership> membership() {
        return membership;
    }

    /** If not 0: discard the log and restart it empty with this first index (LogStore.resetTo). */
    public long resetTo() {
        return resetTo;
    }

    /** If not 0: remove this index and every later one (LogStore.truncateFrom). 0 when {@link #resetTo()} is set. */
    public long truncateFrom() {
        return truncateFrom;
    }

    /** Index of the first message of {@code entries().get(0)}; meaningless when there are no entries. */
    public long firstEntryIndex() {
        return firstEntryIndex;
    }

    /** Batches to append after steps 1; contiguous, terms stamped. */
    public List<MessageBatch> entries() {
        return entries;
    }

    /** Index of the last entry to append, or {@code firstEntryIndex - 1} when none. */
    public long lastEntryIndex() {
        long n = 0;
        for (MessageBatch b : entries) {
            n += b.count();
        }
        return firstEntryIndex + n - 1;
    }

    /** Messages to send once everything above is durable. Delivery may be lossy, duplicated or reordered. */
    public List<Message> messages() {
        return messages;
    }

    /** Commit index before this Ready; entries in (previousCommitIndex, commitIndex] became committed. */
    public long previousCommitIndex() {
        return previousCommitIndex;
    }

    /** The node's commit index; never decreases while the node runs. */
    public long commitIndex() {
        return commitIndex;
    }

    @Override
    public String toString() {
        return "Ready{hs=" + hardState + (membership != null ? " membership=" + membership : "") + (resetTo != 0 ? " reset=" + resetTo : "")
                + (truncateFrom != 0 ? " trunc=" + truncateFrom : "")
                + (entries.isEmpty() ? "" : " entries=" + firstEntryIndex + ".." + lastEntryIndex())
                + " msgs=" + messages.size() + " commit=" + commitIndex + "}";
    }
}
