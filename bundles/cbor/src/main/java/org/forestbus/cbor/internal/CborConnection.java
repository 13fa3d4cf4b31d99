package org.forestbus.cbor.internal;

import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.forestbus.cbor.internal.RpcHandler.ReceiveArgs;
import org.forestbus.cbor.internal.RpcHandler.SendArgs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection speaking Go {@code net/rpc} framing with CBOR values (FORESTBUS-SPEC §6.4):
 * requests are header + arguments, two consecutive CBOR values with no length prefix, read by one
 * parser kept for the connection's life.
 *
 * <p>Threading: {@link #run()} is the connection's only reader; it decodes a request, hands it to
 * the {@link RpcHandler} (which returns a future and never blocks) and reads on, so a long poll
 * never delays later pipelined requests. Completed replies go to an outbox drained by at most one
 * writer task at a time on the shared {@code writers} executor, which encodes each response and
 * writes it whole, in completion order. At most {@code maxPending} requests are in flight, and no
 * new request is read while more than {@code maxQueuedBytes} of completed replies wait to be
 * written: the reader then stops reading (TCP back-pressure).
 *
 * <p>Closing: on EOF the connection closes once every outstanding reply is written; on an
 * undecodable header, malformed CBOR or a broken limit it logs why and closes at once (the stream
 * cannot be resynchronised).
 */
final class CborConnection implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(CborConnection.class);

    /** Largest request header accepted (a header is a method name and a sequence number). */
    static final int MAX_HEADER_BYTES = 64 << 10;
    private static final String SERVICE = "RPCHandler";
    private static final String[] HEADER_FIELDS = {"ServiceMethod", "Seq"};
    private static final String[] SEND_FIELDS = {"ClusterID", "Topic", "SentMessages", "WaitForCommit"};
    private static final String[] RECEIVE_FIELDS = {"ClusterID", "Topic", "ID", "Quantity", "WaitForMessages"};
    private static final String[] TOPIC_FIELDS = {"Topic"};
    private static final String[] NO_FIELDS = {};

    private record Header(String serviceMethod, long seq) {
    }

    private record Outgoing(Header header, Reply reply) {
    }

    private final Socket socket;
    private final String remote;
    private final RpcHandler handler;
    private final BoundedCborParser.Factory cbor;
    private final Executor writers;
    private final int maxRequestBytes;
    private final Consumer<CborConnection> onClose;
    private final Semaphore permits;
    private final AtomicInteger pending = new AtomicInteger();
    private final ConcurrentLinkedQueue<Outgoing> outbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object writeLock = new Object();
    private final OutputStream out;
    private volatile boolean inputEnded;
    /** Payload bytes of completed replies not yet written; guarded by {@code outputGate}. */
    private long queuedBytes;
    private final long maxQueuedBytes;
    private final Object outputGate = new Object();

    CborConnection(Socket socket, RpcHandler handler, BoundedCborParser.Factory cbor, Executor writers,
                   int maxRequestBytes, int maxPending, long maxQueuedBytes, Consumer<CborConnection> onClose) {
        this.socket = socket;
        this.remote = String.valueOf(socket.getRemoteSocketAddress());
        this.handler = handler;
        this.cbor = cbor;
        this.writers = writers;
        this.maxRequestBytes = maxRequestBytes;
        this.permits = new Semaphore(maxPending);
        this.maxQueuedBytes = maxQueuedBytes;
        this.onClose = onClose;
        OutputStream raw;
        try {
            raw = socket.getOutputStream();
        } catch (IOException e) {
            raw = OutputStream.nullOutputStream(); // socket already closed: the reader fails at once
        }
        this.out = new BufferedOutputStream(raw, 64 << 10);
    }

    @Override
    public void run() {
        BoundedCborParser parser = null;
        try {
            RequestLimitStream in = new RequestLimitStream(socket.getInputStream());
            parser = cbor.boundedParser(in);
            WireReader r = new WireReader(parser);
            while (!closed.get()) {
                awaitOutputBelowLimit();
                permits.acquire();
                long start = r.position();
                in.window(start, MAX_HEADER_BYTES);
                r.budgetEnd(start + MAX_HEADER_BYTES);
                r.decodedLimit(MAX_HEADER_BYTES);
                JsonToken t = r.next();
                if (t == null) {
                    permits.release();
                    break; // clean EOF between requests
                }
                Header h = readHeader(r, t);
                long bodyStart = r.position();
                in.window(bodyStart, maxRequestBytes);
                r.budgetEnd(bodyStart + maxRequestBytes);
                r.decodedLimit(maxRequestBytes);
                JsonToken bt = r.next();
                if (bt == null) {
                    throw new EOFException("end of stream before the body of " + h.serviceMethod());
                }
                Supplier<CompletableFuture<Reply>> call = decodeBody(r, h, bt);
                long size = r.position() - bodyStart;
                if (size > maxRequestBytes) {
                    throw new RequestTooLargeException("request body of " + size + " bytes exceeds " + maxRequestBytes);
                }
                pending.incrementAndGet();
                CompletableFuture<Reply> f;
                try {
                    f = call.get();
                } catch (RuntimeException e) {
                    LOG.warn("CBOR-RPC {}: {} failed", remote, h.serviceMethod(), e);
                    f = CompletableFuture.completedFuture(Reply.error(String.valueOf(e.getMessage())));
                }
                f.whenComplete((reply, err) -> enqueue(new Outgoing(h,
                        err != null ? Reply.error(String.valueOf(err.getMessage())) : reply)));
            }
            inputEnded = true;
            if (pending.get() == 0) {
                close(null);
            }
        } catch (RequestTooLargeException e) {
            close("request too large: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close(null);
        } catch (IOException | RuntimeException e) {
            LOG.debug("CBOR-RPC {}: reader stopped", remote, e);
            close(closed.get() || e instanceof SocketException ? null : "unreadable request: " + e);
        } catch (Error e) {
            LOG.error("CBOR-RPC {}: reader failed", remote, e);
            close("reader failed: " + e);
            throw e;
        } finally {
            closeParser(parser);
            if (!inputEnded) {
                close(null); // whatever stopped the reader (even an Error), the connection is finished
            }
        }
    }

    /** Releases the parser's buffers; the socket stays open (AUTO_CLOSE_SOURCE is off) for pending replies. */
    private static void closeParser(BoundedCborParser parser) {
        if (parser != null) {
            try {
                parser.close();
            } catch (IOException | RuntimeException ignored) {
                // nothing to release further
            }
        }
    }

    /** Closes the socket (idempotent); {@code reason} non-null is logged as a warning. */
    void close(String reason) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (reason != null) {
            LOG.warn("CBOR-RPC {}: closing connection: {}", remote, reason);
        } else {
            LOG.debug("CBOR-RPC {}: connection closed", remote);
        }
        try {
            socket.close();
        } catch (IOException e) {
            LOG.debug("CBOR-RPC {}: close failed", remote, e);
        }
        synchronized (outputGate) {
            outputGate.notifyAll();
        }
        onClose.accept(this);
    }

    boolean isClosed() {
        return closed.get();
    }

    private Header readHeader(WireReader r, JsonToken t) throws IOException {
        String[] method = {""};
        long[] seq = {0};
        r.resetProblem();
        boolean struct = r.readStruct(t, HEADER_FIELDS, (name, v) -> {
            switch (name) {
                case "ServiceMethod" -> method[0] = r.readString(v);
                case "Seq" -> seq[0] = r.readUnsignedLong(v);
                default -> r.skip(v);
            }
        });
        if (!struct || r.problem() != null) {
            throw new IOException("cannot decode request header: " + (struct ? r.problem() : "not a map or array"));
        }
        return new Header(method[0], seq[0]);
    }

    /** Decodes the arguments value (always consumed whole) into the call to make. */
    private Supplier<CompletableFuture<Reply>> decodeBody(WireReader r, Header h, JsonToken t)
            throws IOException {
        String m = h.serviceMethod();
        int dot = m.lastIndexOf('.');
        String error = null;
        Supplier<CompletableFuture<Reply>> call = null;
        r.resetProblem();
        if (dot < 0) {
            r.skip(t);
            error = "rpc: service/method request ill-formed: " + m;
        } else if (!SERVICE.equals(m.substring(0, dot))) {
            r.skip(t);
            error = "rpc: can't find service " + m;
        } else {
            switch (m.substring(dot + 1)) {
                case "SendMessages" -> {
                    SendArgs a = readSendArgs(r, t);
                    call = () -> handler.sendMessages(a);
                }
                case "ReceiveMessages" -> {
                    ReceiveArgs a = readReceiveArgs(r, t);
                    call = () -> handler.receiveMessages(a);
                }
                case "GetTopicDetails" -> {
                    String[] topic = {""};
                    r.readStruct(t, TOPIC_FIELDS, (name, v) -> {
                        if (name.equals("Topic")) {
                            topic[0] = r.readString(v);
                        } else {
                            r.skip(v);
                        }
                    });
                    call = () -> handler.topicDetails(topic[0]);
                }
                case "GetClusterDetails" -> {
                    r.readStruct(t, NO_FIELDS, (name, v) -> r.skip(v));
                    call = handler::clusterDetails;
                }
                default -> {
                    r.skip(t);
                    error = "rpc: can't find method " + m;
                }
            }
        }
        if (error == null && r.problem() != null) {
            error = "rpc: cannot decode arguments of " + m + ": " + r.problem();
        }
        if (error != null) {
            Reply e = Reply.error(error);
            return () -> CompletableFuture.completedFuture(e);
        }
        return call;
    }

    private static SendArgs readSendArgs(WireReader r, JsonToken t) throws IOException {
        String[] topic = {""};
        Object[] msgs = {null};
        boolean[] wait = {false};
        r.readStruct(t, SEND_FIELDS, (name, v) -> {
            switch (name) {
                case "Topic" -> topic[0] = r.readString(v);
                case "SentMessages" -> msgs[0] = r.readBytesList(v);
                case "WaitForCommit" -> wait[0] = r.readBool(v);
                default -> r.skip(v); // ClusterID is ignored, as by the original
            }
        });
        @SuppressWarnings("unchecked")
        List<byte[]> messages = (List<byte[]>) msgs[0];
        return new SendArgs(topic[0], messages, wait[0]);
    }

    private static ReceiveArgs readReceiveArgs(WireReader r, JsonToken t) throws IOException {
        String[] topic = {""};
        long[] n = {0, 0};
        boolean[] wait = {false};
        r.readStruct(t, RECEIVE_FIELDS, (name, v) -> {
            switch (name) {
                case "Topic" -> topic[0] = r.readString(v);
                case "ID" -> n[0] = r.readLong(v);
                case "Quantity" -> n[1] = r.readLong(v);
                case "WaitForMessages" -> wait[0] = r.readBool(v);
                default -> r.skip(v);
            }
        });
        return new ReceiveArgs(topic[0], n[0], n[1], wait[0]);
    }

    // ---- write side -------------------------------------------------------------------------

    private void enqueue(Outgoing o) {
        synchronized (outputGate) {
            queuedBytes += o.reply().payloadBytes();
        }
        outbox.add(o);
        scheduleDrain();
    }

    /**
     * Back-pressure for clients that pipeline reads but do not read the replies: the reader takes
     * no new request while more than {@code maxQueuedBytes} of completed replies wait to be written.
     */
    private void awaitOutputBelowLimit() throws InterruptedException {
        synchronized (outputGate) {
            while (queuedBytes > maxQueuedBytes && !closed.get()) {
                outputGate.wait();
            }
        }
    }

    private void scheduleDrain() {
        if (!outbox.isEmpty() && draining.compareAndSet(false, true)) {
            try {
                writers.execute(this::drain);
            } catch (RejectedExecutionException e) {
                draining.set(false);
                close(null); // the listener is shutting down
            }
        }
    }

    /**
     * Writer task: at most one runs per connection (the {@code draining} flag), so responses are
     * written whole and in completion order. Encodes straight into the socket's buffered stream
     * and flushes when the outbox is empty (pipelined replies share packets).
     */
    private void drain() {
        try {
            Outgoing o;
            while ((o = outbox.poll()) != null) {
                if (!closed.get()) {
                    write(o, outbox.isEmpty());
                }
                synchronized (outputGate) {
                    queuedBytes -= o.reply().payloadBytes();
                    outputGate.notifyAll();
                }
                permits.release();
                if (pending.decrementAndGet() == 0 && inputEnded) {
                    close(null); // EOF seen and every reply written
                }
            }
        } finally {
            draining.set(false);
            scheduleDrain(); // an item may have arrived after the last poll
        }
    }

    private void write(Outgoing o, boolean flush) {
        Header h = o.header();
        try {
            synchronized (writeLock) {
                WireWriter.writeResponse(out, h.serviceMethod(), h.seq(), o.reply().error(), o.reply().body());
                if (flush) {
                    out.flush();
                }
            }
        } catch (IOException e) {
            close(closed.get() ? null : "write failed: " + e);
        } catch (RuntimeException e) {
            // a half-written response cannot be taken back: the stream is unusable
            LOG.error("CBOR-RPC {}: cannot encode the reply to {}", remote, h.serviceMethod(), e);
            close("reply encoding failed");
        }
    }
}
