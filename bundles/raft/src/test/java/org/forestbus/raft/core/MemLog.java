package org.forestbus.raft.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.forestbus.api.MessageBatch;

/** Minimal in-memory {@link RaftLog} that applies Readies (unit tests of the core). */
final class MemLog implements RaftLog {
    long first = 1;
    final List<MessageBatch> entries = new ArrayList<>(); // one single-message batch per index

    @Override
    public long firstIndex() {
        return first;
    }

    @Override
    public long lastIndex() {
        return first + entries.size() - 1;
    }

    @Override
    public long term(long index) {
        return index == 0 ? 0 : entries.get((int) (index - first)).term(0);
    }

    @Override
    public MessageBatch entries(long lo, int maxCount, int maxBytes) {
        if (lo < first || lo > lastIndex()) {
            return MessageBatch.empty();
        }
        int from = (int) (lo - first);
        int to = (int) Math.min(entries.size(), from + (long) maxCount);
        int bytes = 0;
        int end = from;
        while (end < to && (end == from || bytes + entries.get(end).sizeBytes() <= maxBytes)) {
            bytes += entries.get(end).sizeBytes();
            end++;
        }
        ByteBuffer b = ByteBuffer.allocate(bytes);
        for (int i = from; i < end; i++) {
            b.put(entries.get(i).buffer());
        }
        b.flip();
        return MessageBatch.wrapTrusted(b, end - from);
    }

    /** Appends messages with the given terms (payload = index). */
    MemLog withTerms(long... terms) {
        for (long t : terms) {
            entries.add(MessageBatch.of(new byte[] {(byte) entries.size()}).stampTerm(t));
        }
        return this;
    }

    void apply(Ready rd) {
        if (rd.resetTo() != 0) {
            entries.clear();
            first = rd.resetTo();
        } else if (rd.truncateFrom() != 0) {
            entries.subList((int) (rd.truncateFrom() - first), entries.size()).clear();
        }
        for (MessageBatch b : rd.entries()) {
            for (int i = 0; i < b.count(); i++) {
                entries.add(b.slice(i, i + 1));
            }
        }
    }
}
