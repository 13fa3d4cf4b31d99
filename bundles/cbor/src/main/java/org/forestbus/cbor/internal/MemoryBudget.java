package org.forestbus.cbor.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A listener-wide budget of heap, shared by its connections. Two are used:
 *
 * <p><b>Sends</b> ({@code max.buffered.send.bytes}). Without it, every connection could decode a
 * request of up to {@code max.request.bytes} at the same time: 24 producers sending 15 MB batches
 * ran a 160 MB-heap node out of memory. A reader reserves {@code max.request.bytes} before it
 * decodes a send's body (the size is not known before: CBOR has no length prefix), and only while
 * less than the capacity is held ({@link #tryReserve}; atomic, so the total stays below capacity +
 * one request). Decoded, it holds twice its messages' bytes while the batch is made (a copy), then
 * just the bytes of the messages, until the topic
 * answers the send ({@link #release}). A reader that finds no room reads nothing more from its
 * client (TCP back-pressure) until a release wakes it; it holds nothing meanwhile, so waiting
 * cannot deadlock: what is held belongs to sends already in topics, or to bodies being decoded,
 * and both finish without any waiting reader.
 *
 * <p><b>Replies</b> ({@code max.buffered.reply.bytes}): every connection's owed reply bytes (its
 * {@code queuedBytes}) are {@link #add added} here too. Six consumers reading 100 KB messages four
 * requests ahead ran a node out of memory with only the per-connection bound. When the budget is
 * used up, reads ask the log for one message ({@link #take}: a read counts what it may bring onto
 * the heap before it runs) and replies carry one message ({@link #room}): they
 * shrink, they do not stop, so clients that stop reading slow the others down but cannot stall them.
 * Thread-safe.
 */
final class MemoryBudget {

    private final long capacity;
    private final AtomicLong held = new AtomicLong();
    private final Set<Runnable> waiters = ConcurrentHashMap.newKeySet();

    /** A budget of {@code capacity} bytes, configured by {@code property} (named in errors). */
    MemoryBudget(String property, long capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException(property + " must be at least 1, was " + capacity);
        }
        this.capacity = capacity;
    }

    /** Takes {@code bytes} when less than the capacity is held now; false (nothing taken) otherwise. */
    boolean tryReserve(long bytes) {
        for (long h = held.get(); h < capacity; h = held.get()) {
            if (held.compareAndSet(h, h + bytes)) {
                return true;
            }
        }
        return false;
    }

    /** Takes what is left of the capacity up to {@code max}, at least 1 byte; returns what was taken. */
    long take(long max) {
        while (true) {
            long h = held.get();
            long grant = Math.max(1, Math.min(max, capacity - h));
            if (held.compareAndSet(h, h + grant)) {
                return grant;
            }
        }
    }

    /** Gives back {@code bytes}; wakes the waiting readers once below the capacity. */
    void release(long bytes) {
        if (bytes == 0) {
            return;
        }
        if (held.addAndGet(-bytes) < capacity && !waiters.isEmpty()) {
            waiters.forEach(Runnable::run);
        }
    }

    /** Registers a reader's wake-up before it re-checks {@link #tryReserve} (no wake-up is lost). */
    void addWaiter(Runnable wake) {
        waiters.add(wake);
    }

    void removeWaiter(Runnable wake) {
        waiters.remove(wake);
    }

    /** Adds {@code delta} (negative: gives back) without any check; wakes waiters as {@link #release} does. */
    void add(long delta) {
        if (delta > 0) {
            held.addAndGet(delta);
        } else {
            release(-delta);
        }
    }

    /** Bytes that may still be taken before the capacity is reached (0 when it is). */
    long room() {
        return Math.max(0, capacity - held.get());
    }

    /** Bytes held now. */
    long held() {
        return held.get();
    }

    long capacity() {
        return capacity;
    }
}
