package org.forestbus.raft.core;

import java.util.ArrayList;
import java.util.List;
import org.forestbus.api.MessageBatch;

/**
 * The node's log = the persisted {@link RaftLog} view overlaid by the changes not yet handed to
 * the driver (etcd-raft's {@code unstable}). Because the node refuses input between
 * {@code ready()} and {@code advance()}, the persisted view never changes while changes are
 * pending, and after {@code advance()} it reflects all of them, so the overlay is simply
 * cleared.
 *
 * <p>Overlay invariants (when {@code pending}): entries cover {@code [offset, offset+count)};
 * if {@code truncateFrom != 0} then {@code truncateFrom == offset}; if {@code resetTo != 0}
 * then {@code resetTo == offset} and nothing below it is visible.
 */
final class LogState {
    static final long UNKNOWN = -1;

    private final RaftLog stable;
    private boolean pending;
    private long offset;
    private long truncateFrom;
    private long resetTo;
    private final List<MessageBatch> batches = new ArrayList<>();
    private long count;

    LogState(RaftLog stable) {
        this.stable = stable;
    }

    long firstIndex() {
        return pending && resetTo != 0 ? resetTo : stable.firstIndex();
    }

    long lastIndex() {
        return pending ? offset + count - 1 : stable.lastIndex();
    }

    /** Term at {@code i}: 0 for 0, {@link #UNKNOWN} outside {@code [firstIndex, lastIndex]}. */
    long term(long i) {
        if (i == 0) {
            return 0;
        }
        if (i < firstIndex() || i > lastIndex()) {
            return UNKNOWN;
        }
        if (pending && i >= offset) {
            long base = offset;
            for (MessageBatch b : batches) {
                if (i < base + b.count()) {
                    return b.term((int) (i - base));
                }
                base += b.count();
            }
            throw new IllegalStateException("overlay lost index " + i);
        }
        return stable.term(i);
    }

    long lastTerm() {
        long last = lastIndex();
        return last == 0 ? 0 : term(last);
    }

    /** Appends after {@link #lastIndex()}. */
    void append(MessageBatch b) {
        if (b.isEmpty()) {
            return;
        }
        begin();
        batches.add(b);
        count += b.count();
    }

    /** Removes {@code i} and everything after it. */
    void truncateFrom(long i) {
        if (i > lastIndex()) {
            return;
        }
        begin();
        if (i >= offset) {
            // cut inside the overlay
            long base = offset;
            int k = 0;
            while (k < batches.size() && base + batches.get(k).count() <= i) {
                base += batches.get(k).count();
                k++;
            }
            MessageBatch b = batches.get(k);
            MessageBatch head = b.slice(0, (int) (i - base));
            batches.subList(k, batches.size()).clear();
            if (!head.isEmpty()) {
                batches.add(head);
            }
            count = i - offset;
        } else {
            if (resetTo != 0) {
                throw new IllegalStateException("truncate below reset point");
            }
            truncateFrom = i;
            offset = i;
            batches.clear();
            count = 0;
        }
    }

    /** Discards the whole log; it restarts empty with first index {@code first}. */
    void resetTo(long first) {
        begin();
        resetTo = first;
        truncateFrom = 0;
        offset = first;
        batches.clear();
        count = 0;
    }

    private void begin() {
        if (!pending) {
            pending = true;
            offset = stable.lastIndex() + 1;
            truncateFrom = 0;
            resetTo = 0;
            count = 0;
        }
    }

    /** Up to {@code maxCount} messages / {@code maxBytes} bytes from {@code lo} (at least one when present). */
    MessageBatch entries(long lo, int maxCount, int maxBytes) {
        long last = lastIndex();
        if (lo > last || lo < firstIndex()) {
            return MessageBatch.empty();
        }
        if (!pending || lo < offset) {
            int max = (int) Math.min(maxCount, (pending ? offset - 1 : last) - lo + 1);
            return stable.entries(lo, max, maxBytes);
        }
        long base = offset;
        for (MessageBatch b : batches) {
            if (lo < base + b.count()) {
                int from = (int) (lo - base);
                int to = (int) Math.min(b.count(), from + (long) maxCount);
                // byte cap: keep at least one message
                int end = from + 1;
                int startOff = b.offset(from);
                while (end < to && b.offset(end + 1) - startOff <= maxBytes) {
                    end++;
                }
                return b.slice(from, end);
            }
            base += b.count();
        }
        return MessageBatch.empty();
    }

    boolean hasPending() {
        return pending;
    }

    long pendingResetTo() {
        return pending ? resetTo : 0;
    }

    long pendingTruncateFrom() {
        return pending && resetTo == 0 ? truncateFrom : 0;
    }

    long pendingOffset() {
        return offset;
    }

    List<MessageBatch> pendingEntries() {
        return pending ? List.copyOf(batches) : List.of();
    }

    /** The driver persisted the overlay: the stable view now shows it. */
    void stabilized() {
        if (pending) {
            long expected = offset + count - 1;
            pending = false;
            batches.clear();
            count = 0;
            if (stable.lastIndex() != expected) {
                throw new IllegalStateException("driver did not persist the Ready: stable last index "
                        + stable.lastIndex() + ", expected " + expected);
            }
        }
    }
}
