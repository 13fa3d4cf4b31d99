package org.forestbus.cbor.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The listener-wide budget of heap held by SendMessages requests (the {@code max.buffered.send.bytes}
 * limit). Without it, every connection could decode a request of up to {@code max.request.bytes}
 * at the same time: 24 producers sending 15 MB batches ran a 160 MB-heap node out of memory.
 *
 * <p>A reader reserves {@code max.request.bytes} before it decodes a send's body (the size is not
 * known before: CBOR has no length prefix), and only while less than the capacity is held
 * ({@link #tryReserve}; atomic, so the total stays below capacity + one request). After decoding
 * it keeps just the bytes of the messages, until the topic answers the send ({@link #release}).
 * A reader that finds no room reads nothing more from its client (TCP back-pressure) until a
 * release wakes it; it holds nothing meanwhile, so waiting cannot deadlock: what is held belongs to
 * sends already in topics, or to bodies being decoded, and both finish without any waiting reader.
 * Thread-safe.
 */
final class SendMemory {

    private final long capacity;
    private final AtomicLong held = new AtomicLong();
    private final Set<Runnable> waiters = ConcurrentHashMap.newKeySet();

    SendMemory(long capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("max.buffered.send.bytes must be at least 1, was " + capacity);
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

    /** Bytes held now. */
    long held() {
        return held.get();
    }

    long capacity() {
        return capacity;
    }
}
