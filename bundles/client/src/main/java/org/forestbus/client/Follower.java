package org.forestbus.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
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
     * its retry budget is exhausted the exception is thrown. Returns empty once closed.
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
     * Starts a daemon thread that polls forever and calls {@code handler} for every message.
     * An exception from the handler or a non-retryable error stops the thread (reported to
     * {@code onError}, may be null).
     */
    public synchronized Follower start(Consumer<Message> handler, Consumer<Throwable> onError) {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        thread = new Thread(() -> {
            try {
                while (!closed) {
                    for (Message m : poll()) {
                        handler.accept(m);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException | Error e) {
                if (!closed && onError != null) {
                    onError.accept(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
                }
            }
        }, "forestbus-follower-" + topic);
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    /** {@link #start(Consumer, Consumer)} without an error callback. */
    public Follower start(Consumer<Message> handler) {
        return start(handler, null);
    }

    /** Stops polling: cancels the long poll in flight and, if started, waits for the thread (≤ 5 s). */
    @Override
    public void close() {
        closed = true;
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
