package org.forestbus.raft.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MalformedBatchException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.ReadResult;
import org.forestbus.api.ShuttingDownException;
import org.forestbus.api.storage.LogStore;

/**
 * Client reads of one topic: only committed messages, long polls woken when the commit index
 * advances. The commit index is published here by the topic only after the entries up to it are
 * durable on this node.
 *
 * <p>Invariants: {@code commitIndex} never decreases; no read returns an index above the
 * commit index seen when it was answered.
 */
final class CommittedReads {

    private final String topic;
    private final LogStore log;
    private final Executor workers;
    private final ScheduledExecutorService timer;
    private final List<Waiter> waiters = new ArrayList<>();
    private volatile long commitIndex;
    private volatile boolean closed;

    private static final class Waiter {
        final long fromIndex;
        final int maxMessages;
        final int maxBytes;
        final CompletableFuture<ReadResult> future = new CompletableFuture<>();
        ScheduledFuture<?> timeout;

        Waiter(long fromIndex, int maxMessages, int maxBytes) {
            this.fromIndex = fromIndex;
            this.maxMessages = maxMessages;
            this.maxBytes = maxBytes;
        }
    }

    CommittedReads(String topic, LogStore log, long commitIndex, Executor workers, ScheduledExecutorService timer) {
        this.topic = topic;
        this.log = log;
        this.commitIndex = commitIndex;
        this.workers = workers;
        this.timer = timer;
    }

    long commitIndex() {
        return commitIndex;
    }

    /** Publishes a higher commit index (entries up to it durable here) and wakes the readers it satisfies. */
    void advance(long index) {
        List<Waiter> ready = null;
        synchronized (waiters) {
            if (index <= commitIndex) {
                return;
            }
            commitIndex = index;
            for (var it = waiters.iterator(); it.hasNext(); ) {
                Waiter w = it.next();
                if (w.fromIndex <= index) {
                    it.remove();
                    (ready == null ? ready = new ArrayList<>() : ready).add(w);
                }
            }
        }
        if (ready != null) {
            for (Waiter w : ready) {
                if (w.timeout != null) {
                    w.timeout.cancel(false);
                }
                workers.execute(() -> answer(w));
            }
        }
    }

    CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis) {
        if (maxMessages < 1 || maxBytes < 1) {
            return CompletableFuture.failedFuture(new MalformedBatchException("maxMessages and maxBytes must be >= 1"));
        }
        if (closed) {
            return CompletableFuture.failedFuture(new ShuttingDownException("topic " + topic));
        }
        Waiter w = new Waiter(Math.max(fromIndex, log.firstIndex()), maxMessages, maxBytes);
        if (w.fromIndex > commitIndex && waitMillis > 0) {
            boolean parked = false;
            synchronized (waiters) {
                // re-checked under the lock: advance() cannot slip between the check and the add
                if (w.fromIndex > commitIndex && !closed) {
                    waiters.add(w);
                    w.timeout = timer.schedule(() -> expire(w), waitMillis, TimeUnit.MILLISECONDS);
                    parked = true;
                }
            }
            if (parked) {
                // the caller gave up (its client went away): the wait and its timeout go now,
                // not when the wait would have run out
                w.future.whenComplete((r, e) -> {
                    if (w.future.isCancelled()) {
                        drop(w);
                    }
                });
                return w.future;
            }
        }
        answer(w);
        return w.future;
    }

    private void drop(Waiter w) {
        ScheduledFuture<?> timeout;
        synchronized (waiters) {
            waiters.remove(w);
            timeout = w.timeout;
        }
        timeout.cancel(false);
    }

    /** Reads parked waiting for a commit (for tests and diagnostics). */
    int parkedReads() {
        synchronized (waiters) {
            return waiters.size();
        }
    }

    private void expire(Waiter w) {
        boolean removed;
        synchronized (waiters) {
            removed = waiters.remove(w);
        }
        if (removed) {
            workers.execute(() -> answer(w));
        }
    }

    private void answer(Waiter w) {
        try {
            long commit = commitIndex;
            long from = w.fromIndex;
            if (from > commit) {
                w.future.complete(new ReadResult(MessageBatch.empty(), from, from, commit));
                return;
            }
            int count = (int) Math.min(w.maxMessages, commit - from + 1);
            MessageBatch batch = log.read(from, count, w.maxBytes);
            if (batch.count() > count) {
                batch = batch.slice(0, count); // never past the commit index, whatever storage returned
            }
            w.future.complete(new ReadResult(batch, from, from + batch.count(), commit));
        } catch (RuntimeException e) {
            w.future.completeExceptionally(ForestBusException.from(e));
        }
    }

    /** Refuses new reads and answers the waiting ones with SHUTTING_DOWN. */
    void close() {
        List<Waiter> pending;
        synchronized (waiters) {
            closed = true;
            pending = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (Waiter w : pending) {
            if (w.timeout != null) {
                w.timeout.cancel(false);
            }
            w.future.completeExceptionally(new ShuttingDownException("topic " + topic));
        }
    }
}
