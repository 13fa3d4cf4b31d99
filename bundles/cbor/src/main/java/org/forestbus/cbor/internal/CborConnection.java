package org.forestbus.cbor.internal;

import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
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
 * never delays later pipelined requests. The socket is non-blocking: whoever completes a reply
 * encodes it and writes it at once, whole, on its own thread (no hand-off to a writer thread on
 * the path of every request); what the socket does not take is queued and written by the reader
 * thread, which waits on a per-connection selector for input and for room to write. Replies
 * carrying more than {@link #INLINE_REPLY_BYTES} of messages are encoded on the {@code writers}
 * executor instead, so a topic's thread never spends long on a big read.
 *
 * <p>Limits (a client that stops reading gets TCP back-pressure; nothing ever blocks on its
 * socket): a request is in flight from when it is read until its reply is written whole to the
 * socket, and at most {@code maxPending} are. {@code queuedBytes} counts the reply bytes owed to
 * the socket: encoded and not yet written, plus message bytes reserved by replies being built
 * ({@link #reserveOutput}). No request is read while it exceeds {@code maxQueuedBytes}, and a
 * reply completing then carries only its first message. So the queue stays below
 * {@code maxQueuedBytes + maxPending * (one message + framing)}. Across connections, a send's body
 * is decoded only with room in the listener's {@link MemoryBudget} ({@code max.buffered.send.bytes}),
 * which then holds its messages' bytes until the topic answers it; and {@code queuedBytes} is
 * mirrored in the listener's reply {@link MemoryBudget} ({@code max.buffered.reply.bytes}), which
 * caps reads and replies (down to one message) when the connections together owe that much.
 *
 * <p>A request that stops arriving part-way (no byte for {@code request.timeout.ms}) closes the
 * connection, so a client cannot hold a send reservation by trickling a body; between requests a
 * connection may stay idle.
 *
 * <p>Closing: at the end of the client's input (seen also while waiting for room, by reading a
 * little ahead) the reader cancels the long polls still parked, which then answer as expired
 * polls, and closes once every reply in flight is written, or after {@link #EOF_GRACE_MS}. On an
 * undecodable header, malformed CBOR or a broken limit it logs why and closes at once (the stream
 * cannot be resynchronised); a failed write (peer gone) closes at once. Whatever ends the reader,
 * it closes the connection and cancels the polls still parked, so no topic keeps them.
 */
final class CborConnection implements Runnable, RpcHandler.Caller {

    private static final Logger LOG = LoggerFactory.getLogger(CborConnection.class);

    /** Largest request header accepted (a header is a method name and a sequence number). */
    static final int MAX_HEADER_BYTES = 64 << 10;
    /** Longest wait for the replies still in flight once the client has ended its input. */
    static final long EOF_GRACE_MS = 5_000;
    /** Input read ahead while the reader waits for room (so it sees the client leave then too). */
    static final int READ_AHEAD_BYTES = 4096;
    /** Replies with more message bytes than this are encoded on the writers executor, not by their completer. */
    static final long INLINE_REPLY_BYTES = 64 << 10;
    private static final String SERVICE = "RPCHandler";
    private static final String SEND_METHOD = SERVICE + ".SendMessages";
    private static final String[] HEADER_FIELDS = {"ServiceMethod", "Seq"};
    private static final String[] SEND_FIELDS = {"ClusterID", "Topic", "SentMessages", "WaitForCommit"};
    private static final String[] RECEIVE_FIELDS = {"ClusterID", "Topic", "ID", "Quantity", "WaitForMessages"};
    private static final String[] TOPIC_FIELDS = {"Topic"};
    private static final String[] NO_FIELDS = {};

    private record Header(String serviceMethod, long seq) {
    }

    private record Outgoing(Header header, Reply reply) {
    }

    /** A reply's encoded bytes, wrapped without a copy. */
    private static final class Encoded extends ByteArrayOutputStream {
        Encoded(int size) {
            super(size);
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(buf, 0, count);
        }
    }

    private final SocketChannel ch;
    private final Selector selector;
    private final SelectionKey key;
    private final String remote;
    private final RpcHandler handler;
    private final BoundedCborParser.Factory cbor;
    private final Executor writers;
    private final MemoryBudget sendMemory;
    /** Mirrors {@link #queuedBytes} across the listener's connections ({@code max.buffered.reply.bytes}). */
    private final MemoryBudget replyMemory;
    /** Wakes this reader when {@link #sendMemory} has room again. */
    private final Runnable wakeForMemory;
    /** Bytes of the send being decoded (reader thread only; set by {@link #decodeBody}). */
    private long sendBytes;
    private final int maxRequestBytes;
    private final int maxMessagesPerRequest;
    private final Consumer<CborConnection> onClose;
    private final int maxPending;
    /**
     * Requests read whose reply is not yet written whole: incremented by the reader, decremented by
     * whoever hands a reply's last byte to the socket (or drops the reply with the connection).
     */
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Guards {@link #unsent}, {@link #queuedBytes} and writes to the channel. */
    private final Object outLock = new Object();
    /** Encoded replies, each partly or not at all written; only the reader thread writes them. */
    private final ArrayDeque<ByteBuffer> unsent = new ArrayDeque<>();
    /** Bytes left in {@link #unsent} plus the reservations of replies not yet queued. */
    private long queuedBytes;
    private volatile boolean inputEnded;
    /** When the grace after the end of input is over (nanoTime); reader thread only. */
    private long graceEnd;
    /** Bytes read ahead (write mode), handed to the parser first; reader thread only, allocated when needed. */
    private ByteBuffer ahead;
    /** Long polls parked in topics: added by the reader, cancelled by the reader (end of input, exit). */
    private final Set<CompletableFuture<?>> polls = ConcurrentHashMap.newKeySet();
    /** The reader waits for an in-flight slot or for the queue to shrink: a writer must wake it. */
    private volatile boolean waitingForRoom;
    private final long maxQueuedBytes;
    /** request.timeout.ms: longest pause without input while a request is partly received. */
    private final long requestTimeoutNanos;
    /** A request has started and is not yet whole (reader thread only): pauses in its input are timed. */
    private boolean midRequest;
    /** When input last arrived (nanoTime; reader thread only). */
    private long lastInputNanos;

    CborConnection(SocketChannel ch, RpcHandler handler, BoundedCborParser.Factory cbor, Executor writers,
                   MemoryBudget sendMemory, MemoryBudget replyMemory, int maxRequestBytes, int maxMessagesPerRequest, int maxPending,
                   long maxQueuedBytes, long requestTimeoutMillis, Consumer<CborConnection> onClose)
            throws IOException {
        this.ch = ch;
        this.remote = String.valueOf(ch.getRemoteAddress());
        this.handler = handler;
        this.cbor = cbor;
        this.writers = writers;
        this.sendMemory = sendMemory;
        this.replyMemory = replyMemory;
        this.maxRequestBytes = maxRequestBytes;
        this.maxMessagesPerRequest = maxMessagesPerRequest;
        this.maxPending = maxPending;
        this.maxQueuedBytes = maxQueuedBytes;
        this.requestTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(requestTimeoutMillis);
        this.onClose = onClose;
        ch.configureBlocking(false);
        this.selector = Selector.open();
        try {
            this.key = ch.register(selector, SelectionKey.OP_READ);
        } catch (IOException | RuntimeException e) {
            selector.close();
            throw e;
        }
        this.wakeForMemory = selector::wakeup;
    }

    @Override
    public void run() {
        BoundedCborParser parser = null;
        try {
            RequestLimitStream in = new RequestLimitStream(new ChannelInput());
            parser = cbor.boundedParser(in);
            WireReader r = new WireReader(parser);
            r.maxListItems(maxMessagesPerRequest);
            while (!closed.get()) {
                awaitRoom();
                limitNextValue(in, r, MAX_HEADER_BYTES);
                JsonToken t = r.next();
                if (t == null) {
                    break; // clean EOF between requests
                }
                midRequest = true;
                lastInputNanos = System.nanoTime();
                Header h = readHeader(r, t);
                long reserved = 0;
                if (SEND_METHOD.equals(h.serviceMethod())) {
                    reserved = awaitSendMemory();
                    lastInputNanos = System.nanoTime(); // a wait for room is not the client's pause
                }
                Supplier<CompletableFuture<Reply>> call;
                try {
                    long bodyStart = limitNextValue(in, r, maxRequestBytes);
                    JsonToken bt = r.next();
                    if (bt == null) {
                        throw new EOFException("end of stream before the body of " + h.serviceMethod());
                    }
                    sendBytes = 0;
                    call = decodeBody(r, h, bt);
                    long size = r.position() - bodyStart;
                    if (size > maxRequestBytes) {
                        throw new RequestTooLargeException("request body of " + size + " bytes exceeds " + maxRequestBytes);
                    }
                    midRequest = false;
                } catch (IOException | RuntimeException e) {
                    sendMemory.release(reserved);
                    throw e;
                }
                // Decoded: the reservation becomes what the send really holds, at once (other
                // readers may be waiting for it). Twice its messages' bytes while the call makes
                // its batch (a copy; the decoded messages are alive until then), then once.
                long copying = reserved > 0 ? 2 * sendBytes : 0;
                sendMemory.add(copying - reserved);
                inFlight.incrementAndGet(); // only this thread increments: awaitRoom's check holds
                CompletableFuture<Reply> f;
                try {
                    f = call.get();
                } catch (RuntimeException e) {
                    LOG.warn("CBOR-RPC {}: {} failed", remote, h.serviceMethod(), e);
                    f = CompletableFuture.completedFuture(Reply.error(String.valueOf(e.getMessage())));
                }
                long held = copying / 2;
                sendMemory.release(copying - held);
                f.whenComplete((reply, err) -> {
                    sendMemory.release(held); // the topic has answered: it no longer needs the batch
                    deliver(new Outgoing(h, err != null ? Reply.error(String.valueOf(err.getMessage())) : reply));
                });
            }
            endOfInput();
            while (!closed.get() && inFlight.get() > 0) {
                waitForIo(false); // write what is still owed, then close; gives up after the grace
            }
            close(null);
        } catch (RequestTooLargeException e) {
            close("request too large: " + e.getMessage());
        } catch (RequestStalledException e) {
            close("request stalled: " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.debug("CBOR-RPC {}: reader stopped", remote, e);
            close(closed.get() || e instanceof SocketException ? null : "unreadable request: " + e);
        } catch (Error e) {
            LOG.error("CBOR-RPC {}: reader failed", remote, e);
            close("reader failed: " + e);
            throw e;
        } finally {
            closeParser(parser);
            close(null); // whatever stopped the reader (even an Error), the connection is finished
            cancelPolls(); // after close: their replies are dropped, and no topic keeps them parked
        }
    }

    /** Bounds the next value (a header or a body) to {@code limit} bytes read and decoded; returns where it starts. */
    private static long limitNextValue(RequestLimitStream in, WireReader r, long limit) {
        long start = r.position();
        in.window(start, limit);
        r.budgetEnd(start + limit);
        r.decodedLimit(limit);
        return start;
    }

    /** The client sent its last byte (reader thread): long polls end now, the grace starts. */
    private void endOfInput() {
        if (!inputEnded) {
            graceEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EOF_GRACE_MS);
            inputEnded = true;
        }
        cancelPolls();
    }

    /** Cancels the parked long polls (reader thread only, holding no lock: cancelling runs their completions). */
    private void cancelPolls() {
        for (CompletableFuture<?> p : List.copyOf(polls)) {
            p.cancel(false);
        }
    }

    @Override
    public void parked(CompletableFuture<?> poll) {
        polls.add(poll); // by the reader thread, within the call; a later end of input cancels it
        poll.whenComplete((r, e) -> polls.remove(poll));
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
            ch.close();
        } catch (IOException e) {
            LOG.debug("CBOR-RPC {}: close failed", remote, e);
        }
        try {
            selector.close(); // wakes the reader out of select(); it then cancels the parked polls
        } catch (IOException e) {
            LOG.debug("CBOR-RPC {}: closing the selector failed", remote, e);
        }
        synchronized (outLock) {
            unsent.clear(); // never to be written: free them now, not when the last future lets go of us
            queued(-queuedBytes); // replies completing later see closed and count nothing
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
                    if (a.messages() != null) {
                        for (byte[] payload : a.messages()) {
                            sendBytes += payload.length;
                        }
                    }
                    call = () -> handler.sendMessages(a);
                }
                case "ReceiveMessages" -> {
                    ReceiveArgs a = readReceiveArgs(r, t);
                    call = () -> handler.receiveMessages(a, this);
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

    // ---- I/O ---------------------------------------------------------------------------------

    /** The parser's input: non-blocking reads, waiting on the selector (and writing what is owed) when none is ready. */
    private final class ChannelInput extends InputStream {
        private final byte[] one = new byte[1];
        private boolean drained;

        @Override
        public int read() throws IOException {
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (ahead != null && ahead.position() > 0) {
                ahead.flip();
                int n = Math.min(len, ahead.remaining());
                ahead.get(b, off, n);
                ahead.compact();
                drained = false;
                lastInputNanos = System.nanoTime();
                return n;
            }
            if (inputEnded) {
                return -1; // seen while reading ahead
            }
            ByteBuffer dst = ByteBuffer.wrap(b, off, len);
            if (drained) {
                // the last read was short, so the socket was empty then: wait for the selector
                // rather than spend a read on an empty socket (one request usually arrives whole)
                drained = false;
                waitForIo(true);
            }
            while (true) {
                int n = ch.read(dst);
                if (n != 0) {
                    drained = n > 0 && n < len;
                    lastInputNanos = System.nanoTime();
                    return n; // -1 at end of stream
                }
                waitForIo(true);
            }
        }
    }

    /**
     * Reader thread: waits until the socket is readable ({@code read}), has room for queued
     * replies, or a completer wakes us; then writes what it can of the queued replies. Waiting for
     * room ({@code !read}), it reads input ahead, so the end of input or a reset is seen then too.
     * After the end of input it waits until the grace is over at most, then throws.
     */
    private void waitForIo(boolean read) throws IOException {
        if (closed.get() || Thread.currentThread().isInterrupted()) {
            throw new SocketException("connection closed");
        }
        long timeout = 0;
        if (inputEnded) {
            long left = graceEnd - System.nanoTime();
            if (left <= 0) {
                LOG.debug("CBOR-RPC {}: {} replies still owed {} ms after the end of input", remote, inFlight.get(), EOF_GRACE_MS);
                throw new SocketException("replies still owed after the end of input");
            }
            timeout = Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
        }
        if (read && midRequest) { // the rest of a request is awaited: a client may pause, not stall
            long left = lastInputNanos + requestTimeoutNanos - System.nanoTime();
            if (left <= 0) {
                throw new RequestStalledException("no byte for " + TimeUnit.NANOSECONDS.toMillis(requestTimeoutNanos)
                        + " ms in the middle of a request (request.timeout.ms)");
            }
            long ms = Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
            timeout = timeout == 0 ? ms : Math.min(timeout, ms);
        }
        boolean readAhead = !read && !inputEnded && (ahead == null || ahead.hasRemaining());
        int ops = read || readAhead ? SelectionKey.OP_READ : 0;
        if (hasUnsent()) {
            ops |= SelectionKey.OP_WRITE;
        }
        boolean readable;
        try {
            key.interestOps(ops);
            readable = selector.select(timeout) > 0 && key.isReadable();
            selector.selectedKeys().clear();
        } catch (RuntimeException e) { // closed meanwhile: cancelled key, closed selector
            throw new SocketException("connection closed");
        }
        writeUnsent();
        if (readAhead && readable) {
            if (ahead == null) {
                ahead = ByteBuffer.allocate(READ_AHEAD_BYTES);
            }
            if (ch.read(ahead) < 0) {
                endOfInput();
            }
        }
    }

    /**
     * Reserves {@code maxRequestBytes} of {@link #sendMemory} for the send body about to be
     * decoded, waiting (writing owed replies, reading a little ahead) while the listener's sends
     * hold the whole budget. Returns the bytes reserved.
     */
    private long awaitSendMemory() throws IOException {
        if (!sendMemory.tryReserve(maxRequestBytes)) {
            sendMemory.addWaiter(wakeForMemory); // before the re-check: a release after it wakes the selector
            try {
                while (!sendMemory.tryReserve(maxRequestBytes)) {
                    waitForIo(false);
                }
            } finally {
                sendMemory.removeWaiter(wakeForMemory);
            }
        }
        return maxRequestBytes;
    }

    private boolean hasUnsent() {
        synchronized (outLock) {
            return !unsent.isEmpty();
        }
    }

    private void writeUnsent() {
        try {
            synchronized (outLock) {
                ByteBuffer b;
                while ((b = unsent.peek()) != null) {
                    queued(-ch.write(b));
                    if (b.hasRemaining()) {
                        return;
                    }
                    unsent.poll();
                    inFlight.decrementAndGet(); // the reader re-checks its room after this: no wake-up needed
                }
            }
        } catch (IOException e) {
            LOG.debug("CBOR-RPC {}: write failed", remote, e);
            close(null); // the peer is gone (reset, broken pipe)
        }
    }

    /**
     * Back-pressure: the reader takes no new request while {@code maxPending} are in flight or more
     * than {@code maxQueuedBytes} are queued, and meanwhile writes the queue (a client may wait for
     * those replies before its in-flight requests can finish).
     */
    private void awaitRoom() throws IOException {
        if (hasRoom()) {
            return;
        }
        waitingForRoom = true; // before the re-check: a reply finishing after it wakes the selector
        try {
            while (!hasRoom()) {
                waitForIo(false);
            }
        } finally {
            waitingForRoom = false;
        }
    }

    private boolean hasRoom() {
        if (inFlight.get() >= maxPending) {
            return false;
        }
        synchronized (outLock) {
            return queuedBytes <= maxQueuedBytes;
        }
    }

    /** Changes {@link #queuedBytes} and the listener's reply budget alike (caller holds {@code outLock}). */
    private void queued(long delta) {
        queuedBytes += delta;
        replyMemory.add(delta);
    }

    @Override
    public int reserveRead(int maxReadBytes) {
        return (int) replyMemory.take(maxReadBytes);
    }

    @Override
    public void readDone(int reserved) {
        replyMemory.release(reserved);
    }

    @Override
    public int reserveOutput(List<ByteBuffer> payloads) {
        synchronized (outLock) {
            if (closed.get()) {
                return Math.min(1, payloads.size()); // never written: nothing to count
            }
            long room = Math.min(maxQueuedBytes - queuedBytes, replyMemory.room());
            int n = 0;
            long bytes = 0;
            for (ByteBuffer p : payloads) {
                if (n > 0 && bytes + p.remaining() > room) {
                    break;
                }
                bytes += p.remaining();
                n++;
            }
            queued(bytes); // released by send() when the reply is written or queued
            return n;
        }
    }

    /** Bytes owed to the socket now (queued and reserved). */
    long queuedBytes() {
        synchronized (outLock) {
            return queuedBytes;
        }
    }

    /** A completed reply: encoded and written by the completing thread, or by a writer task when large. */
    private void deliver(Outgoing o) {
        if (o.reply().payloadBytes() > INLINE_REPLY_BYTES) {
            try {
                writers.execute(() -> send(o));
            } catch (RejectedExecutionException e) {
                close(null); // the listener is shutting down
                written();
            }
            return;
        }
        send(o);
    }

    /**
     * Encodes the reply (outside the lock) and writes it whole after the replies before it: at
     * once if the socket takes it, else queued for the reader thread. Never blocks on the socket.
     * Turns the reply's reservation into the bytes it leaves queued.
     */
    private void send(Outgoing o) {
        Header h = o.header();
        boolean queued = false;
        try {
            if (!closed.get()) {
                Encoded e = new Encoded((int) Math.min(Integer.MAX_VALUE - 16, 256 + o.reply().payloadBytes() * 11 / 10));
                WireWriter.writeResponse(e, h.serviceMethod(), h.seq(), o.reply().error(), o.reply().body());
                ByteBuffer bytes = e.buffer();
                synchronized (outLock) {
                    if (!closed.get()) { // else close() has given back what was owed
                        if (unsent.isEmpty()) {
                            ch.write(bytes);
                        }
                        queued(-o.reply().payloadBytes());
                        if (bytes.hasRemaining()) {
                            unsent.add(bytes);
                            queued(bytes.remaining());
                            queued = true; // its in-flight slot is freed by writeUnsent
                        }
                    }
                }
            }
        } catch (IOException e) {
            LOG.debug("CBOR-RPC {}: write failed", remote, e);
            close(null); // the peer is gone (reset, broken pipe)
        } catch (RuntimeException e) {
            // a half-written response cannot be taken back: the stream is unusable
            LOG.error("CBOR-RPC {}: cannot encode the reply to {}", remote, h.serviceMethod(), e);
            close("reply encoding failed");
        } finally {
            if (queued || written()) {
                selector.wakeup(); // the reader writes the rest, takes the next request, or closes after EOF
            }
        }
    }

    /** A reply is written whole, or dropped: frees its slot; true when the reader must look (it waits for room, or EOF seen and nothing in flight). */
    private boolean written() {
        return (inFlight.decrementAndGet() == 0 && inputEnded) || waitingForRoom;
    }
}
