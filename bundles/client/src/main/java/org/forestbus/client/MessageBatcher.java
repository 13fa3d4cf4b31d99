package org.forestbus.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.forestbus.client.ForestBusClientException.Reason;

/**
 * Asynchronous single-message sends, batched (FORESTBUS-SPEC §7.3, redesigned).
 *
 * <p>{@link #send(byte[])} puts the message into a bounded buffer ({@link Builder#bufferSize},
 * default 10,000) and returns a future that resolves to the message's index (or fails with the
 * batch's error). When the buffer is full, {@code send} <b>blocks</b> until there is room
 * ({@link Builder#blockWhenFull}{@code (true)}, default) or returns a future failed with
 * {@link Reason#BUFFER_FULL} at once ({@code blockWhenFull(false)}).
 *
 * <p>One flusher thread takes the oldest message, then waits at most {@link Builder#linger}
 * (default 2 ms) for the batch to fill to {@link Builder#maxBatch} (default 500) messages — it
 * sends at once when it is full — and sends it with {@link ForestBusClient#send} (which retries).
 * Up to {@link Builder#maxInFlight} batches (default 4) are in flight; with more than one, a batch
 * retried after a failure may be stored after a later batch, so use {@code maxInFlight(1)} when
 * the order of the messages in the topic must be the order of {@code send} calls.
 *
 * <p>{@link #close()} stops accepting ({@code send} then fails with {@link Reason#CLOSED}), sends
 * everything buffered and waits until every batch is answered or {@link Builder#closeTimeout}
 * (default 30 s) has passed; messages still unanswered then fail with {@link Reason#CLOSED}.
 * Thread-safe. The batcher does not close its client.
 */
public final class MessageBatcher implements AutoCloseable {

    private record Pending(byte[] message, CompletableFuture<Long> id) {
    }

    private static final Pending STOP = new Pending(null, null);

    private final ForestBusClient client;
    private final String topic;
    private final int maxBatch;
    private final long lingerNanos;
    private final boolean waitForCommit;
    private final boolean blockWhenFull;
    private final Duration closeTimeout;
    private final BlockingQueue<Pending> buffer;
    private final Semaphore inFlight;
    private final int maxInFlight;
    private final Thread flusher;
    private final Object closeLock = new Object();
    private volatile boolean closed;
    /** Sends handed to the client and not yet answered, with their messages. */
    private final Map<CompletableFuture<long[]>, List<Pending>> unanswered = new ConcurrentHashMap<>();
    /** Set by close() once its timeout has passed: every batch still unanswered then fails with CLOSED. */
    private volatile boolean abandoned;

    private MessageBatcher(Builder b) {
        this.client = b.client;
        this.topic = b.topic;
        this.maxBatch = b.maxBatch;
        this.lingerNanos = b.linger.toNanos();
        this.waitForCommit = b.waitForCommit;
        this.blockWhenFull = b.blockWhenFull;
        this.closeTimeout = b.closeTimeout;
        this.buffer = new ArrayBlockingQueue<>(b.bufferSize + 1); // +1: room for STOP
        this.maxInFlight = b.maxInFlight;
        this.inFlight = new Semaphore(b.maxInFlight);
        this.flusher = new Thread(this::flushLoop, "forestbus-batcher-" + topic);
        flusher.setDaemon(true);
        flusher.start();
    }

    public static Builder builder(ForestBusClient client) {
        return new Builder(client);
    }

    /**
     * Queues {@code message} for sending; the future yields its index. Blocks while the buffer is
     * full if so configured (interruptible: an interrupt fails the returned future with CLOSED and
     * keeps the interrupt flag).
     */
    public CompletableFuture<Long> send(byte[] message) {
        Objects.requireNonNull(message, "message");
        CompletableFuture<Long> f = new CompletableFuture<>();
        Pending p = new Pending(message, f);
        // Invariant: nothing is queued after STOP. The read lock of "closed" is closeLock for the
        // non-blocking path; a blocked put re-checks after it returns (close() drains the rest).
        if (closed) {
            return failed(Reason.CLOSED, "batcher closed");
        }
        if (blockWhenFull) {
            try {
                while (!buffer.offer(p, 50, TimeUnit.MILLISECONDS)) {
                    if (closed) {
                        return failed(Reason.CLOSED, "batcher closed");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return failed(Reason.CLOSED, "interrupted while the buffer was full");
            }
        } else if (buffer.remainingCapacity() <= 1 || !buffer.offer(p)) {
            return failed(Reason.BUFFER_FULL, "batcher buffer full (" + (buffer.size()) + " messages)");
        }
        if (closed) {
            // close() raced with us: the flusher may already have stopped; whoever removes p settles it
            if (buffer.remove(p)) {
                return failed(Reason.CLOSED, "batcher closed");
            }
        }
        return f;
    }

    /** Messages waiting in the buffer (not yet handed to the client). */
    public int buffered() {
        return buffer.size();
    }

    private void flushLoop() {
        List<Pending> batch = new ArrayList<>(maxBatch);
        boolean stop = false;
        try {
            while (!stop) {
                Pending first = buffer.take();
                if (first == STOP) {
                    break;
                }
                batch.add(first);
                long lingerEnd = System.nanoTime() + lingerNanos;
                while (batch.size() < maxBatch) {
                    Pending p = buffer.poll();
                    if (p == null) {
                        long left = lingerEnd - System.nanoTime();
                        if (left <= 0 || closed) {
                            break;
                        }
                        p = buffer.poll(left, TimeUnit.NANOSECONDS); // wakes as soon as a message arrives
                        if (p == null) {
                            break;
                        }
                    }
                    if (p == STOP) {
                        stop = true;
                        break;
                    }
                    batch.add(p);
                }
                inFlight.acquire();
                dispatch(new ArrayList<>(batch));
                batch.clear();
            }
        } catch (InterruptedException e) {
            for (Pending p : batch) {
                p.id().completeExceptionally(new ForestBusClientException(Reason.CLOSED, "batcher closed"));
            }
        }
    }

    private void dispatch(List<Pending> batch) {
        List<byte[]> msgs = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            msgs.add(p.message());
        }
        CompletableFuture<long[]> f;
        try {
            f = client.send(topic, msgs, waitForCommit);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        unanswered.put(f, batch);
        CompletableFuture<long[]> sent = f;
        f.whenComplete((ids, err) -> {
            unanswered.remove(sent);
            inFlight.release();
            for (int i = 0; i < batch.size(); i++) {
                if (err == null) {
                    batch.get(i).id().complete(ids[i]);
                } else {
                    batch.get(i).id().completeExceptionally(err instanceof CompletionException
                            && err.getCause() != null ? err.getCause() : err);
                }
            }
        });
        if (abandoned) { // close() may have missed this batch (put after its look)
            abandon(f);
        }
    }

    /** Fails the messages of an unanswered send with CLOSED and cancels the send (it stops retrying). */
    private void abandon(CompletableFuture<long[]> send) {
        List<Pending> batch = unanswered.remove(send);
        if (batch != null) {
            for (Pending p : batch) {
                p.id().completeExceptionally(new ForestBusClientException(Reason.CLOSED, "batcher closed before the batch was answered"));
            }
            send.cancel(false);
        }
    }

    /**
     * Stops accepting, flushes the buffer and waits (at most the close timeout) until every batch
     * has been answered; messages still unanswered then fail with {@link Reason#CLOSED} and their
     * sends are cancelled (a batch already received by a node may still be stored). Idempotent.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        long deadline = System.nanoTime() + closeTimeout.toNanos();
        try {
            // the flusher keeps draining, so room for STOP appears unless the client hangs
            if (buffer.offer(STOP, closeTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                flusher.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
            long left = deadline - System.nanoTime();
            if (left > 0 && inFlight.tryAcquire(maxInFlight, left, TimeUnit.NANOSECONDS)) {
                inFlight.release(maxInFlight);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flusher.interrupt();
        Pending p;
        while ((p = buffer.poll()) != null) {
            if (p != STOP) {
                p.id().completeExceptionally(new ForestBusClientException(Reason.CLOSED, "batcher closed before sending"));
            }
        }
        abandoned = true;
        for (CompletableFuture<long[]> send : unanswered.keySet()) {
            abandon(send);
        }
    }

    private static CompletableFuture<Long> failed(Reason r, String msg) {
        return CompletableFuture.failedFuture(new ForestBusClientException(r, msg));
    }

    /** Settings of a {@link MessageBatcher}. */
    public static final class Builder {
        private final ForestBusClient client;
        private String topic;
        private int maxBatch = 500;
        private int bufferSize = 10_000;
        private Duration linger = Duration.ofMillis(2);
        private boolean waitForCommit = true;
        private boolean blockWhenFull = true;
        private int maxInFlight = 4;
        private Duration closeTimeout = Duration.ofSeconds(30);

        private Builder(ForestBusClient client) {
            this.client = Objects.requireNonNull(client);
            this.topic = client.topic();
        }

        /** Topic (default: the client's default topic). */
        public Builder topic(String t) {
            topic = t;
            return this;
        }

        /** Messages per send request at most (default 500, the server's read cap). */
        public Builder maxBatch(int n) {
            maxBatch = Math.max(1, n);
            return this;
        }

        /** Messages buffered at most (default 10,000). */
        public Builder bufferSize(int n) {
            bufferSize = Math.max(1, n);
            return this;
        }

        /** Longest wait of a batch's first message for more messages (default 2 ms; 0 = send what is there). */
        public Builder linger(Duration d) {
            linger = d;
            return this;
        }

        /** Whether ids are returned only after commit (default true). */
        public Builder waitForCommit(boolean w) {
            waitForCommit = w;
            return this;
        }

        /** Full buffer: block in send (true, default) or fail with BUFFER_FULL (false). */
        public Builder blockWhenFull(boolean b) {
            blockWhenFull = b;
            return this;
        }

        /** Batches in flight at most (default 4). */
        public Builder maxInFlight(int n) {
            maxInFlight = Math.max(1, n);
            return this;
        }

        /** Longest wait of {@link MessageBatcher#close()} (default 30 s). */
        public Builder closeTimeout(Duration d) {
            closeTimeout = d;
            return this;
        }

        public MessageBatcher build() {
            if (topic == null || topic.isEmpty()) {
                throw new IllegalStateException("no topic");
            }
            return new MessageBatcher(this);
        }
    }
}
