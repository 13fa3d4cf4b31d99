package org.forestbus.raft.sim;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.HardState;
import org.forestbus.raft.core.Membership;
import org.forestbus.raft.core.RaftLog;

/**
 * In-memory log with a durable/unsynced split, modelling a LogStore: appends are unsynced until
 * {@link #sync()}; truncate, reset and hard-state saves are durable on return. A process crash
 * keeps unsynced entries (page cache); a power loss drops a random suffix of them.
 */
final class SimLog implements RaftLog {
    /** One stored message: its v0 bytes (term stamped) and term. */
    record Entry(long term, byte[] bytes, long hash) {
    }

    private long first = 1;
    private final List<Entry> entries = new ArrayList<>();
    private int synced; // entries.subList(0, synced) are durable
    private HardState hardState = HardState.INITIAL;
    private List<Membership> membership;

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
        if (index == 0) {
            return 0;
        }
        return entry(index).term();
    }

    Entry entry(long index) {
        if (index < first || index > lastIndex()) {
            throw new IndexOutOfBoundsException(index + " not in [" + first + "," + lastIndex() + "]");
        }
        return entries.get((int) (index - first));
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
        while (end < to && (end == from || bytes + entries.get(end).bytes().length <= maxBytes)) {
            bytes += entries.get(end).bytes().length;
            end++;
        }
        ByteBuffer buf = ByteBuffer.allocate(bytes);
        for (int i = from; i < end; i++) {
            buf.put(entries.get(i).bytes());
        }
        buf.flip();
        return MessageBatch.wrapTrusted(buf, end - from);
    }

    /** Appends (unsynced); returns the new entries. */
    List<Entry> append(MessageBatch b) {
        List<Entry> added = new ArrayList<>(b.count());
        ByteBuffer all = b.buffer();
        for (int i = 0; i < b.count(); i++) {
            int off = b.offset(i);
            int end = b.offset(i + 1);
            byte[] bytes = new byte[end - off];
            all.get(off, bytes);
            Entry e = new Entry(b.term(i), bytes, hash(bytes));
            entries.add(e);
            added.add(e);
        }
        return added;
    }

    /** Planted bug: fsync does nothing (the original's OSSYNC default, FORESTBUS-SPEC §4.10 D1). */
    boolean lyingFsync;

    void sync() {
        if (lyingFsync) {
            return;
        }
        synced = entries.size();
    }

    /** Index of the last durable entry. */
    long syncedLastIndex() {
        return first + synced - 1;
    }

    /** An fsync that covers the entries up to {@code index} (written before it was issued). */
    void syncUpTo(long index) {
        if (lyingFsync) {
            return;
        }
        synced = (int) Math.max(synced, Math.min(entries.size(), index - first + 1));
    }

    void truncateFrom(long index) {
        if (index > lastIndex()) {
            return;
        }
        int keep = (int) Math.max(0, index - first);
        entries.subList(keep, entries.size()).clear();
        synced = Math.min(synced, keep);
    }

    void resetTo(long firstIndex) {
        entries.clear();
        synced = 0;
        first = firstIndex;
    }

    /** Retention: drops entries below {@code newFirst} (caller ensures they are committed and not the last). */
    void dropPrefix(long newFirst) {
        int n = (int) (newFirst - first);
        if (n <= 0) {
            return;
        }
        entries.subList(0, n).clear();
        synced = Math.max(0, synced - n);
        first = newFirst;
    }

    /** Saved configurations (durable on return), or null before the first save. */
    List<Membership> membership() {
        return membership;
    }

    void saveMembership(List<Membership> m) {
        membership = m;
    }

    HardState hardState() {
        return hardState;
    }

    void saveHardState(HardState hs) {
        hardState = hs;
    }

    /** Power loss: keeps the synced entries and a random prefix of the unsynced ones. */
    void powerLoss(RandomGenerator rnd) {
        int unsynced = entries.size() - synced;
        int keep = unsynced == 0 ? 0 : rnd.nextInt(unsynced + 1);
        entries.subList(synced + keep, entries.size()).clear();
        synced = lyingFsync ? synced : entries.size();
    }

    /** For traces: {@code [first..last synced=S terms=...]}. */
    String describe() {
        StringBuilder b = new StringBuilder("[" + first + ".." + lastIndex() + " synced<" + (first + synced) + " terms=");
        long t = -1;
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).term() != t) {
                t = entries.get(i).term();
                b.append(' ').append(first + i).append(":t").append(t);
            }
        }
        return b.append(']').toString();
    }

    static long hash(byte[] bytes) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < bytes.length; i++) {
            h ^= bytes[i];
            h *= 0x100000001b3L;
        }
        return h;
    }
}
