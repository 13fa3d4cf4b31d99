package org.forestbus.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.forestbus.client.ForestBusClientException.Reason;

/**
 * Follows a topic from a given index with long polls, tracking the next index. Use either
 * {@link #poll()} from one thread (an iterator-like pull) or {@link #start(Consumer)}, which runs
 * a thread of its own handing every message to the callback in index order until {@link #close()}.
 * {@link #nextId()} is the index of the next message to be handed out. Not for concurrent
 * {@code poll} calls.
 */
public final class Follower implements AutoCloseable {

    /** One message and its index. */
    public record Message(long id, byte[] payload) {
    }

    private final ForestBusClient client;
    private final String topic;
    private final int quantity;
    private volatile long nextId;
    private volatile boolean closed;
    /** Released by {@link #close()}; the follower thread's backoff waits on it. */
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile CompletableFuture<Messages> current;
    private Thread thread;

    /**
     * @param fromId   first index to read (values below 1 start at the topic's first stored index)
     * @param quantity messages asked for per poll
     */
    public Follower(ForestBusClient client, String topic, long fromId, int quantity) {
        this.client = Objects.requireNonNull(client);
        this.topic = Objects.requireNonNull(topic);
        this.nextId = Math.max(1, fromId);
        this.quantity = Math.max(1, quantity);
    }

    public long nextId() {
        return nextId;
    }

    /**
     * Long-polls once and returns the messages (possibly none, when the server's long-poll limit
     * expired), advancing {@link #nextId()}. Connection problems are retried by the client; when
     * its retry budget (counted from the poll's first failure) is exhausted the exception is
     * thrown. Returns empty once closed.
     *
     * @throws ForestBusClientException on a non-retryable error (e.g. TOPIC_NOT_FOUND)
     */
    public List<Message> poll() throws InterruptedException {
        if (closed) {
            return List.of();
        }
        long from = nextId;
        CompletableFuture<Messages> f = client.receive(topic, from, quantity, true);
        current = f;
        if (closed) {
            f.cancel(false);
        }
        Messages m;
        try {
            m = f.get();
        } catch (CancellationException e) {
            return List.of();
        } catch (ExecutionException e) {
            if (closed) {
                return List.of();
            }
            throw e.getCause() instanceof ForestBusClientException fe ? fe
                    : new ForestBusClientException(Reason.CONNECTION, String.valueOf(e.getCause()), e.getCause());
        }
        List<Message> out = new ArrayList<>(m.size());
        if (m.isEmpty()) {
            // nextId 0 = the node has no commit index yet (restart): keep our position;
            // nextId > from = our position was cleaned up: skip to the first stored index
            if (m.nextId() > from) {
                nextId = m.nextId();
            }
            return out;
        }
        // a reply starts at `from`, or at the first stored index when `from` was cleaned up
        long first = Math.max(from, m.nextId() - m.size());
        for (int i = 0; i < m.size(); i++) {
            out.add(new Message(first + i, m.payloads().get(i)));
        }
        nextId = first + m.size();
        return out;
    }

    /**
     * Starts a daemon thread that polls until {@link #close()} and calls {@code handler} for every
     * message. Every failed poll is reported to {@code onError} (may be null). The thread keeps
     * following after failures that can pass - connection errors, timeouts, no leader, shutting
     * down, internal errors, and an unknown topic (a restarting node may not have registered it
     * yet) - polling again after a backoff (the client's initial backoff doubling up to its
     * maximum). It stops on the failures that cannot: a cluster ID mismatch, an RPC error, the
     * client being closed, and any exception from {@code handler} or {@code onError}. To give up
     * earlier, close the follower from {@code onError}.
     */
    public synchronized Follower start(Consumer<Message> handler, Consumer<Throwable> onError) {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        thread = new Thread(() -> follow(handler, onError), "forestbus-follower-" + topic);
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    /** The loop of {@link #start}; an exception thrown by {@code onError} ends it (uncaught). */
    private void follow(Consumer<Message> handler, Consumer<Throwable> onError) {
        long backoffMs = 0;
        while (!closed) {
            List<Message> batch;
            try {
                batch = poll();
                backoffMs = 0;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                report(onError, e);
                if (!(e instanceof ForestBusClientException fe) || !canPass(fe.reason()) || client.isClosed()) {
                    return;
                }
                backoffMs = backoffMs == 0 ? client.initialBackoffMs() : Math.min(client.maxBackoffMs(), 2 * backoffMs);
                try {
                    closing.await(backoffMs, TimeUnit.MILLISECONDS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
                continue;
            }
            try {
                for (Message m : batch) {
                    handler.accept(m);
                }
            } catch (RuntimeException | Error e) {
                if (!closed) {
                    report(onError, e);
                }
                return;
            }
        }
    }

    private static boolean canPass(Reason r) {
        return r != Reason.CLUSTER_ID_MISMATCH && r != Reason.RPC_ERROR && r != Reason.CLOSED;
    }

    private static void report(Consumer<Throwable> onError, Throwable e) {
        if (onError != null) {
            onError.accept(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
        }
    }

    /** Whether the thread of {@link #start} is still following. */
    synchronized boolean isRunning() {
        return thread != null && thread.isAlive();
    }

    /** {@link #start(Consumer, Consumer)} without an error callback. */
    public Follower start(Consumer<Message> handler) {
        return start(handler, null);
    }

    /** Stops polling: cancels the long poll in flight and, if started, waits for the thread (≤ 5 s). */
    @Override
    public void close() {
        closed = true;
        closing.countDown();
        CompletableFuture<Messages> f = current;
        if (f != null) {
            f.cancel(false);
        }
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
