package org.forestbus.raft.internal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.HardState;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.StorageException;

/** Unit-test fake: messages in memory; sync futures complete only when the test calls {@link #flush()}. */
final class MemoryLogStore implements LogStore {
    final List<byte[]> records = new ArrayList<>();
    final List<CompletableFuture<Long>> pendingSyncs = new ArrayList<>();
    long first = 1;
    long durable;
    HardState hardState = HardState.INITIAL;
    boolean autoFlush;
    boolean failSync;
    boolean closed;

    @Override public String topic() { return "t"; }
    @Override public synchronized long firstIndex() { return first; }
    @Override public synchronized long lastIndex() { return first + records.size() - 1; }
    @Override public synchronized long durableIndex() { return durable; }

    @Override
    public synchronized long termAt(long index) {
        if (index == 0) {
            return 0;
        }
        return MessageBatch.wrap(ByteBuffer.wrap(records.get((int) (index - first)))).term(0);
    }

    @Override
    public synchronized long append(MessageBatch batch) {
        for (int i = 0; i < batch.count(); i++) {
            ByteBuffer b = batch.slice(i, i + 1).buffer();
            byte[] a = new byte[b.remaining()];
            b.get(a);
            records.add(a);
        }
        return lastIndex();
    }

    @Override
    public synchronized CompletableFuture<Long> sync() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        pendingSyncs.add(f);
        if (autoFlush) {
            flush();
        }
        return f;
    }

    /** Syncs asked for and not yet finished. */
    synchronized int unfinishedSyncs() {
        return pendingSyncs.size();
    }

    /** Simulates the fsync finishing: everything appended so far becomes durable. */
    void flush() {
        List<CompletableFuture<Long>> done;
        long d;
        synchronized (this) {
            done = new ArrayList<>(pendingSyncs);
            pendingSyncs.clear();
            if (!failSync) {
                durable = lastIndex();
            }
            d = durable;
        }
        for (CompletableFuture<Long> f : done) {
            if (failSync) {
                f.completeExceptionally(new StorageException("fsync failed (test)"));
            } else {
                f.complete(d);
            }
        }
    }

    @Override
    public synchronized MessageBatch read(long fromIndex, int maxMessages, int maxBytes) {
        if (fromIndex < first || fromIndex > lastIndex()) {
            return MessageBatch.empty();
        }
        int n = (int) Math.min(maxMessages, lastIndex() - fromIndex + 1);
        int size = 0;
        for (int i = 0; i < n; i++) {
            size += records.get((int) (fromIndex - first) + i).length;
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        for (int i = 0; i < n; i++) {
            buf.put(records.get((int) (fromIndex - first) + i));
        }
        buf.flip();
        return MessageBatch.wrap(buf);
    }

    @Override public synchronized void truncateFrom(long index) {
        while (lastIndex() >= index && !records.isEmpty()) {
            records.remove(records.size() - 1);
        }
    }
    @Override public synchronized void resetTo(long firstIndex) { records.clear(); first = firstIndex; }
    @Override public synchronized HardState hardState() { return hardState; }
    @Override public synchronized void saveHardState(HardState state) { hardState = state; }
    byte[] membership;
    @Override public synchronized byte[] membershipRecord() { return membership == null ? null : membership.clone(); }
    @Override public synchronized void saveMembershipRecord(byte[] record) { membership = record.clone(); }
    @Override public long applyRetention(long maxDeletableIndex) { return 0; }
    @Override public LogStats stats() { return new LogStats(1, 0); }
    @Override public synchronized void close() { closed = true; }
}
