package org.forestbus.client;

import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.forestbus.client.ForestBusClientException.Reason;

/**
 * Thread-safe Forest Bus client over the nodes' CBOR-RPC listeners (FORESTBUS-SPEC §6–§7).
 *
 * <ul>
 * <li>One multiplexed connection per node, opened lazily and reopened after it breaks; calls are
 * pipelined and matched by {@code Seq}. With a non-empty cluster ID, every new connection is first
 * checked with {@code GetClusterDetails} (mismatch ⇒ {@link Reason#CLUSTER_ID_MISMATCH}).</li>
 * <li>Sends go to the last known leader of the topic; {@code NOT_LEADER} (code 4) redirects at once
 * to the leader named in {@code Extra1} (or the next node when it is empty). Connection errors,
 * timeouts and codes 3, 4 (without a new hint) and 5 move to the next node; after every node of the
 * list was tried the client backs off exponentially ({@link Builder#initialBackoff} doubling up to
 * {@link Builder#maxBackoff}) and keeps trying until {@link Builder#retryTimeout} has passed since the
 * operation's first failure (so a long poll that breaks after minutes is still retried). Codes 1
 * and 2 and RPC errors fail at once. A send retried after a timeout or broken connection may have
 * been stored already (at-least-once, like the original).</li>
 * <li>Reads are spread round-robin over the nodes (every node serves committed reads); a failed
 * read moves on to the next node.</li>
 * <li>Every RPC has a timeout ({@link Builder#callTimeout}; long polls {@link Builder#longPollTimeout}),
 * counted from when the call is made: it covers waiting for the connection and for the write.</li>
 * <li>A call never waits for a connection to open or for another call's write: it writes its own
 * request on the calling thread when the connection is ready and idle (blocking at most until its
 * timeout; on a reply's thread only a small request that cannot block), and otherwise leaves it to
 * an internal worker. Requests from one thread to one node
 * are written in call order.</li>
 * </ul>
 * Futures complete on internal I/O threads: do not block in their dependent stages (use the
 * {@code *Async} variants for slow work). {@link #close()} closes all connections and fails the
 * calls in flight with {@link Reason#CLOSED} or {@link Reason#CONNECTION}.
 */
public final class ForestBusClient implements AutoCloseable {

    private final String clusterId;
    private final String topic;
    private final List<String> nodes;
    private final long callTimeoutMs;
    private final long longPollTimeoutMs;
    private final int connectTimeoutMs;
    private final long initialBackoffMs;
    private final long maxBackoffMs;
    private final long retryTimeoutMs;

    private final ScheduledThreadPoolExecutor timer;
    private final ExecutorService workers;
    private final Map<String, Link> connections = new ConcurrentHashMap<>();
    /** Last node that accepted a send, per topic (may be an address learnt from Extra1). */
    private final Map<String, String> leaders = new ConcurrentHashMap<>();
    private final AtomicInteger readCursor = new AtomicInteger();
    /** Operations not yet completed; close() fails them (a retry timer dropped by shutdown must not strand one). */
    private final java.util.Set<Operation<?>> live = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private ForestBusClient(Builder b) {
        if (b.nodes.isEmpty()) {
            throw new IllegalArgumentException("no nodes given");
        }
        this.clusterId = b.clusterId;
        this.topic = b.topic;
        this.nodes = List.copyOf(b.nodes);
        this.callTimeoutMs = b.callTimeout.toMillis();
        this.longPollTimeoutMs = b.longPollTimeout.toMillis();
        this.connectTimeoutMs = (int) b.connectTimeout.toMillis();
        this.initialBackoffMs = Math.max(1, b.initialBackoff.toMillis());
        this.maxBackoffMs = Math.max(initialBackoffMs, b.maxBackoff.toMillis());
        this.retryTimeoutMs = b.retryTimeout.toMillis();
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, daemon("forestbus-client-timer"));
        // every answered call cancels its timeout: without removal the dead timeouts of the last
        // callTimeout (30 s × the request rate) would stay queued and each wake the timer thread
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
        this.workers = Executors.newCachedThreadPool(daemon("forestbus-client-worker"));
    }

    /** A client for the connection string {@code clusterID#topic@host:port,host:port} with default settings. */
    public static ForestBusClient connect(String connectionString) {
        return builder().connectionString(connectionString).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The default topic of the connection string ("" if none). */
    public String topic() {
        return topic;
    }

    public String clusterId() {
        return clusterId;
    }

    /** The configured node addresses. */
    public List<String> nodes() {
        return nodes;
    }

    /** {@link #send(String, List, boolean)} to the default topic. */
    public CompletableFuture<long[]> send(List<byte[]> messages, boolean waitForCommit) {
        return send(defaultTopic(), messages, waitForCommit);
    }

    /**
     * Sends {@code messages} (at least one) to the leader of {@code topic} as one batch. The future
     * yields their indexes; with {@code waitForCommit} only once they are committed, else once the
     * leader has queued them.
     */
    public CompletableFuture<long[]> send(String topic, List<byte[]> messages, boolean waitForCommit) {
        Objects.requireNonNull(topic, "topic");
        if (messages.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no messages"));
        }
        List<byte[]> copy = List.copyOf(messages);
        Wire.Args args = g -> {
            g.writeStartObject(null, 4);
            g.writeFieldName("ClusterID");
            g.writeString(clusterId);
            g.writeFieldName("Topic");
            g.writeString(topic);
            g.writeFieldName("SentMessages");
            g.writeStartArray(null, copy.size());
            for (byte[] m : copy) {
                g.writeBinary(m);
            }
            g.writeEndArray();
            g.writeFieldName("WaitForCommit");
            g.writeBoolean(waitForCommit);
            g.writeEndObject();
        };
        String first = leaders.getOrDefault(topic, nodes.get(0));
        return new Operation<long[]>("SendMessages", args, callTimeoutMs, first, true, (node, body) -> {
            long[] ids = Wire.longs(body, "IDs");
            if (ids == null || ids.length != copy.size()) {
                throw new ForestBusClientException(Reason.INTERNAL_ERROR, node + " answered " + (ids == null ? "no" : ids.length)
                        + " IDs for " + copy.size() + " messages");
            }
            leaders.put(topic, node);
            return ids;
        }).start();
    }

    /** {@link #receive(String, long, int, boolean)} from the default topic. */
    public CompletableFuture<Messages> receive(long fromId, int quantity, boolean wait) {
        return receive(defaultTopic(), fromId, quantity, wait);
    }

    /**
     * Reads up to about {@code quantity} committed messages of {@code topic} starting at index
     * {@code fromId} from one node (round-robin over the nodes). With {@code wait} the node holds
     * the call until a message at {@code fromId} is committed (or its own long-poll limit ends it
     * as an empty poll).
     */
    public CompletableFuture<Messages> receive(String topic, long fromId, int quantity, boolean wait) {
        Objects.requireNonNull(topic, "topic");
        Wire.Args args = g -> {
            g.writeStartObject(null, 5);
            g.writeFieldName("ClusterID");
            g.writeString(clusterId);
            g.writeFieldName("Topic");
            g.writeString(topic);
            g.writeFieldName("ID");
            g.writeNumber(fromId);
            g.writeFieldName("Quantity");
            g.writeNumber(quantity);
            g.writeFieldName("WaitForMessages");
            g.writeBoolean(wait);
            g.writeEndObject();
        };
        String first = nodes.get(Math.floorMod(readCursor.getAndIncrement(), nodes.size()));
        return new Operation<Messages>("ReceiveMessages", args, wait ? longPollTimeoutMs : callTimeoutMs, first, false,
                (node, body) -> new Messages(Wire.payloads(body, "ReceivedMessages"), Wire.number(body, "NextID"))).start();
    }

    /** {@code GetClusterDetails} from the first node that answers. */
    public CompletableFuture<ClusterDetails> clusterDetails() {
        return clusterDetails(null);
    }

    /** {@code GetClusterDetails} from {@code node} only (null: the first node that answers). */
    public CompletableFuture<ClusterDetails> clusterDetails(String node) {
        return new Operation<ClusterDetails>("GetClusterDetails", Wire.EMPTY_ARGS, callTimeoutMs,
                node == null ? nodes.get(0) : node, node == null, (n, body) -> clusterDetails(n, body)).singleNode(node != null).start();
    }

    /** {@link #topicDetails(String, String)} of the default topic from the first node that answers. */
    public CompletableFuture<TopicDetails> topicDetails() {
        return topicDetails(null, defaultTopic());
    }

    /**
     * {@code GetTopicDetails}: the local first/last/commit index of {@code topic} on {@code node}
     * (null: the first node that answers).
     */
    public CompletableFuture<TopicDetails> topicDetails(String node, String topic) {
        Objects.requireNonNull(topic, "topic");
        Wire.Args args = g -> {
            g.writeStartObject(null, 1);
            g.writeFieldName("Topic");
            g.writeString(topic);
            g.writeEndObject();
        };
        return new Operation<TopicDetails>("GetTopicDetails", args, callTimeoutMs, node == null ? nodes.get(0) : node, node == null,
                (n, body) -> new TopicDetails(n, topic, Wire.number(body, "FirstIndex"), Wire.number(body, "LastIndex"),
                        Wire.number(body, "CommitIndex"))).singleNode(node != null).start();
    }

    /** A batcher for single-message sends to the default topic with default options. */
    public MessageBatcher batcher() {
        return MessageBatcher.builder(this).build();
    }

    /** A follower of the default topic starting at {@code fromId}. */
    public Follower follower(long fromId) {
        return new Follower(this, defaultTopic(), fromId, 500);
    }

    /** Closes every connection; calls in flight fail. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (Operation<?> op : live) {
            op.result.completeExceptionally(new ForestBusClientException(Reason.CLOSED, "client closed"));
        }
        for (Link l : connections.values()) {
            // a connection still opening is closed by openChecked, which then finds the link settled
            l.conn.completeExceptionally(new ForestBusClientException(Reason.CLOSED, "client closed"));
            l.conn.thenAccept(RpcConnection::close);
        }
        connections.clear();
        timer.shutdownNow();
        workers.shutdownNow();
    }

    boolean isClosed() {
        return closed;
    }

    long initialBackoffMs() {
        return initialBackoffMs;
    }

    long maxBackoffMs() {
        return maxBackoffMs;
    }

    private String defaultTopic() {
        if (topic.isEmpty()) {
            throw new IllegalStateException("no topic in the connection string");
        }
        return topic;
    }

    private static ClusterDetails clusterDetails(String node, Map<String, Object> body) {
        return new ClusterDetails(node, Wire.string(body, "ClusterID"), Wire.strings(body, "Peers"), Wire.strings(body, "Topics"));
    }

    // ---- connections ----

    /**
     * A (possibly still opening) connection to one node plus the calls not yet written to it.
     * Invariants: (1) calls are written in submission order: they go through one FIFO queue, which
     * is drained only under {@link #writeLock}, and a caller writes directly only while it holds
     * that lock and the queue is empty (so every earlier call has been written); (2) a caller never
     * waits for another call's write (it only tries the lock; a worker drains what it could not
     * write); (3) a reader thread never blocks writing: it writes its own call only when that
     * cannot block ({@link RpcConnection#callWithoutBlocking}); its other calls, and every call
     * queued while the connection opens, are written by a worker; (4) a call's timeout runs from its submission,
     * so it also covers the wait in the queue and a write that cannot finish.
     */
    private final class Link {
        final CompletableFuture<RpcConnection> conn = new CompletableFuture<>();
        private final String node;
        private final Queue<Runnable> waiting = new ConcurrentLinkedQueue<>();
        private final ReentrantLock writeLock = new ReentrantLock();
        private final AtomicBoolean drainScheduled = new AtomicBoolean();

        Link(String node) {
            this.node = node;
            conn.whenComplete((c, e) -> scheduleDrain()); // only hands over to a worker: may run on a reader thread
        }

        boolean usable() {
            return !conn.isDone() || (!conn.isCompletedExceptionally() && !conn.join().isBroken());
        }

        /** Sends the call once connected; the future fails when the connection cannot be opened. */
        CompletableFuture<RpcConnection.Reply> call(String method, Wire.Args args, long timeoutMs) {
            CompletableFuture<RpcConnection.Reply> f = new CompletableFuture<>();
            RpcConnection.expireAfter(f, timeoutMs, timer, method + " to " + node);
            Runnable write = () -> {
                if (f.isDone()) { // timed out or cancelled while queued: never written
                    return;
                }
                RpcConnection c;
                try {
                    c = conn.join();
                } catch (CompletionException | CancellationException e) {
                    f.completeExceptionally(e.getCause() != null ? e.getCause() : e);
                    return;
                }
                c.call(method, args, f);
            };
            if (conn.isDone() && writeLock.tryLock()) {
                try {
                    if (waiting.isEmpty()) {
                        if (!RpcConnection.onReaderThread()) {
                            write.run();
                            return f;
                        }
                        // a reply's continuation (a producer's next send): written here only if
                        // that cannot block, saving a worker's wake-up per request
                        RpcConnection c = conn.isCompletedExceptionally() ? null : conn.join();
                        if (c != null && c.callWithoutBlocking(method, args, f)) {
                            return f;
                        }
                    }
                } finally {
                    writeLock.unlock();
                }
            }
            waiting.add(write);
            scheduleDrain();
            return f;
        }

        /** Starts a worker draining the queue, unless one is due already or the connection is still opening. */
        private void scheduleDrain() {
            if (conn.isDone() && drainScheduled.compareAndSet(false, true)) {
                try {
                    workers.execute(this::drain);
                } catch (RejectedExecutionException closedMeanwhile) {
                    drainScheduled.set(false); // close() failed the operations of the queued calls
                }
            }
        }

        private void drain() {
            writeLock.lock();
            try {
                Runnable r;
                while ((r = waiting.poll()) != null) {
                    r.run();
                }
            } finally {
                writeLock.unlock();
            }
            drainScheduled.set(false);
            if (!waiting.isEmpty()) { // queued after the last poll, while drainScheduled was still set
                scheduleDrain();
            }
        }
    }

    /** The live connection to {@code node}, opening (and checking) one if needed; never blocks the caller. */
    private Link connection(String node) {
        while (true) {
            Link l = connections.get(node);
            if (l != null && l.usable()) {
                return l;
            }
            Link fresh = new Link(node);
            boolean mine = l == null ? connections.putIfAbsent(node, fresh) == null : connections.replace(node, l, fresh);
            if (!mine) {
                continue;
            }
            try {
                workers.execute(() -> openChecked(node, fresh.conn));
            } catch (RuntimeException e) { // executor shut down by close()
                fresh.conn.completeExceptionally(new ForestBusClientException(Reason.CLOSED, "client closed"));
            }
            if (closed) { // close() may have missed fresh
                fresh.conn.completeExceptionally(new ForestBusClientException(Reason.CLOSED, "client closed"));
                fresh.conn.thenAccept(RpcConnection::close);
            }
            return fresh;
        }
    }

    private void openChecked(String node, CompletableFuture<RpcConnection> result) {
        RpcConnection conn;
        try {
            conn = RpcConnection.open(node, connectTimeoutMs, timer);
        } catch (IOException e) {
            result.completeExceptionally(new ForestBusClientException(Reason.CONNECTION, "cannot connect to " + node + ": " + e, e));
            return;
        }
        // settled otherwise than with conn (failed check, or close() while still opening): conn
        // is closed, with its socket and reader thread (runs at once if already settled)
        result.whenComplete((c, e) -> {
            if (c != conn) {
                conn.close();
            }
        });
        if (clusterId.isEmpty()) {
            handOver(conn, result);
            return;
        }
        CompletableFuture<RpcConnection.Reply> check;
        try {
            check = conn.call("GetClusterDetails", Wire.EMPTY_ARGS, callTimeoutMs);
        } catch (RuntimeException e) {
            result.completeExceptionally(new ForestBusClientException(Reason.CONNECTION, "GetClusterDetails to " + node + ": " + e, e));
            return;
        }
        check.whenComplete((reply, err) -> {
            if (err != null) {
                result.completeExceptionally(err);
            } else if (!reply.error().isEmpty() || !clusterId.equals(Wire.string(reply.body(), "ClusterID"))) {
                result.completeExceptionally(new ForestBusClientException(Reason.CLUSTER_ID_MISMATCH, "node " + node
                        + " has cluster ID '" + Wire.string(reply.body(), "ClusterID") + "', expected '" + clusterId + "'"
                        + (reply.error().isEmpty() ? "" : " (" + reply.error() + ")")));
            } else {
                handOver(conn, result);
            }
        });
    }

    /**
     * Completes {@code result} with {@code conn} unless the client is closed. close() sets
     * {@code closed} before it settles every link (closing the connections already handed over),
     * so either it finds {@code result} completed with conn, or this sees {@code closed}.
     */
    private void handOver(RpcConnection conn, CompletableFuture<RpcConnection> result) {
        if (closed) {
            result.completeExceptionally(new ForestBusClientException(Reason.CLOSED, "client closed"));
        } else if (result.complete(conn) && closed) {
            conn.close();
        }
    }

    /** Converts a successful body (code 0) into the result; may throw a ForestBusClientException. */
    @FunctionalInterface
    private interface Decoder<T> {
        T decode(String node, Map<String, Object> body);
    }

    /**
     * One client operation with its retry state. Invariant: at most one attempt is in flight; each
     * attempt either completes {@link #result} or schedules exactly one next attempt.
     */
    private final class Operation<T> {
        private final String method;
        private final Wire.Args args;
        private final long timeoutMs;
        private final boolean followLeader;
        private final Decoder<T> decoder;
        private final CompletableFuture<T> result = new CompletableFuture<>();
        /** End of the retry budget (System.nanoTime); set at the first failure, so no attempt's own wait eats it. */
        private long deadline;
        private boolean failedBefore;
        private boolean singleNode;
        private String target;
        /** Nodes tried since the last backoff; a backoff is due once every node was tried. */
        private int triedInRound;
        private int backoffs;
        private volatile CompletableFuture<?> inFlight;

        Operation(String method, Wire.Args args, long timeoutMs, String first, boolean followLeader, Decoder<T> decoder) {
            this.method = method;
            this.args = args;
            this.timeoutMs = timeoutMs;
            this.target = first;
            this.followLeader = followLeader;
            this.decoder = decoder;
            // cancelling the operation cancels its RPC (frees the Seq slot, e.g. a long poll)
            result.whenComplete((r, e) -> {
                CompletableFuture<?> f = inFlight;
                if (result.isCancelled() && f != null) {
                    f.cancel(false);
                }
            });
        }

        Operation<T> singleNode(boolean only) {
            this.singleNode = only;
            return this;
        }

        CompletableFuture<T> start() {
            live.add(this);
            result.whenComplete((r, e) -> live.remove(this));
            attempt();
            return result;
        }

        private void attempt() {
            if (closed) {
                result.completeExceptionally(new ForestBusClientException(Reason.CLOSED, "client closed"));
                return;
            }
            if (result.isDone()) {
                return;
            }
            String node = target;
            triedInRound++;
            CompletableFuture<RpcConnection.Reply> call = connection(node).call(method, args, timeoutMs);
            inFlight = call;
            call.whenComplete((reply, err) -> {
                if (err != null) {
                    Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
                    if (e instanceof ForestBusClientException fe && fe.reason().retried()) {
                        retry(fe, null);
                    } else if (e instanceof ForestBusClientException fe) {
                        result.completeExceptionally(fe);
                    } else {
                        result.completeExceptionally(new ForestBusClientException(Reason.CONNECTION, method + " to " + node + ": " + e, e));
                    }
                    return;
                }
                if (!reply.error().isEmpty()) {
                    Reason r = reply.error().startsWith("Topic not found") ? Reason.TOPIC_NOT_FOUND : Reason.RPC_ERROR;
                    result.completeExceptionally(new ForestBusClientException(r, node + ": " + reply.error()));
                    return;
                }
                Map<String, Object> info = Wire.map(reply.body().get("Result"));
                int code = (int) Wire.number(info, "Code");
                if (code == 0) {
                    try {
                        result.complete(decoder.decode(node, reply.body()));
                    } catch (RuntimeException e) {
                        result.completeExceptionally(e);
                    }
                    return;
                }
                Reason reason = Reason.ofWireCode(code);
                ForestBusClientException fe = new ForestBusClientException(reason, node + ": " + Wire.string(info, "Description"));
                if (reason == Reason.NOT_LEADER) {
                    String hint = Wire.string(info, "Extra1");
                    retry(fe, followLeader && !hint.isEmpty() && !hint.equals(node) ? hint : null);
                } else if (reason.retried()) {
                    retry(fe, null);
                } else {
                    result.completeExceptionally(fe);
                }
            });
        }

        /** Schedules the next attempt at {@code hint} (immediately) or at the next node (after a backoff once all were tried). */
        private void retry(ForestBusClientException cause, String hint) {
            long delayMs = 0;
            if (hint != null) {
                target = hint;
            } else if (!singleNode) {
                int i = nodes.indexOf(target);
                target = nodes.get(i < 0 ? 0 : (i + 1) % nodes.size());
            }
            // a round = every node once (+1 for a redirect); stale hints pointing at each other
            // during an election therefore back off like any other failure instead of spinning
            if (singleNode || triedInRound >= nodes.size() + (hint != null ? 1 : 0)) {
                delayMs = Math.min(maxBackoffMs, initialBackoffMs << Math.min(20, backoffs));
                backoffs++;
                triedInRound = 0;
            }
            long now = System.nanoTime();
            if (!failedBefore) {
                failedBefore = true;
                deadline = now + TimeUnit.MILLISECONDS.toNanos(retryTimeoutMs);
            }
            if (now + TimeUnit.MILLISECONDS.toNanos(delayMs) - deadline >= 0) { // retryTimeout 0: no retries
                result.completeExceptionally(cause);
                return;
            }
            try {
                if (delayMs == 0) {
                    workers.execute(this::attempt); // never connect or re-send on a reader thread
                } else {
                    timer.schedule(() -> workers.execute(this::attempt), delayMs, TimeUnit.MILLISECONDS);
                }
            } catch (RuntimeException closedMeanwhile) {
                result.completeExceptionally(new ForestBusClientException(Reason.CLOSED, "client closed"));
            }
        }
    }

    /** Timers queued now: call timeouts and retry backoffs (answered calls leave none behind). */
    int queuedTimers() {
        return timer.getQueue().size();
    }

    private static ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Settings of a {@link ForestBusClient}; every setter has a default. */
    public static final class Builder {
        private String clusterId = "";
        private String topic = "";
        private final List<String> nodes = new ArrayList<>();
        private Duration callTimeout = Duration.ofSeconds(30);
        private Duration longPollTimeout = Duration.ofSeconds(330);
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration initialBackoff = Duration.ofMillis(50);
        private Duration maxBackoff = Duration.ofSeconds(2);
        private Duration retryTimeout = Duration.ofSeconds(30);

        private Builder() {
        }

        /** Sets cluster ID, default topic and nodes from {@code clusterID#topic@host:port,...}. */
        public Builder connectionString(String s) {
            ConnectionString cs = ConnectionString.parse(s);
            clusterId = cs.clusterId();
            topic = cs.topic();
            nodes.clear();
            nodes.addAll(cs.nodes());
            return this;
        }

        /** Cluster ID checked on every new connection; "" (default) = not checked. */
        public Builder clusterId(String id) {
            clusterId = Objects.requireNonNull(id);
            return this;
        }

        /** Default topic of the topic-less methods. */
        public Builder topic(String t) {
            topic = Objects.requireNonNull(t);
            return this;
        }

        /** Adds CBOR-RPC node addresses {@code host:port}. */
        public Builder nodes(String... addresses) {
            nodes.addAll(List.of(addresses));
            return this;
        }

        /** Timeout of one RPC (default 30 s). */
        public Builder callTimeout(Duration d) {
            callTimeout = d;
            return this;
        }

        /** Timeout of one long-poll RPC (default 330 s; the server ends long polls after its max.wait.ms, default 300 s). */
        public Builder longPollTimeout(Duration d) {
            longPollTimeout = d;
            return this;
        }

        /** TCP connect timeout (default 5 s). */
        public Builder connectTimeout(Duration d) {
            connectTimeout = d;
            return this;
        }

        /** First backoff after every node failed (default 50 ms), doubled per round up to {@link #maxBackoff}. */
        public Builder initialBackoff(Duration d) {
            initialBackoff = d;
            return this;
        }

        /** Largest backoff (default 2 s). */
        public Builder maxBackoff(Duration d) {
            maxBackoff = d;
            return this;
        }

        /**
         * How long an operation keeps retrying, counted from its first failure, before it fails with
         * its last error (default 30 s; 0 = no retries).
         */
        public Builder retryTimeout(Duration d) {
            retryTimeout = d;
            return this;
        }

        public ForestBusClient build() {
            return new ForestBusClient(this);
        }
    }
}
