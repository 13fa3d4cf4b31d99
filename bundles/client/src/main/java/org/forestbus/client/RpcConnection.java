package org.forestbus.client;

import com.fasterxml.jackson.dataformat.cbor.CBORParser;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One multiplexed CBOR-RPC connection to one node (Go {@code net/rpc} framing, FORESTBUS-SPEC §6.4).
 * Any thread may {@link #call}; requests are written under the connection's lock and pipelined;
 * one reader thread matches replies to calls by {@code Seq}, in whatever order the server answers.
 * Reply futures complete on that reader thread, which must therefore never block writing a request
 * (it would stop reading replies while a peer that stops reading requests when its replies back
 * up waits for it): see {@link #onReaderThread()}. It may write a small request only through
 * {@link #callWithoutBlocking}, which cannot block. Once broken (I/O error, EOF, undecodable
 * reply) the connection fails every pending and later call and must be replaced.
 */
final class RpcConnection implements AutoCloseable {

    /** A decoded reply: the header's {@code Error} and the body tree. */
    record Reply(String error, Map<String, Object> body) {
    }

    private final String address;
    private final Socket socket;
    private final CountingOutput out;
    /**
     * Bytes of requests written whose replies have not arrived: more than the node can have left
     * unread. Below {@link #READER_WRITE_BYTES} a further small request fits in the sockets'
     * buffers, so writing it cannot block.
     */
    private final AtomicLong unansweredBytes = new AtomicLong();
    /** Request sizes by Seq until the reply arrives (also a late one: the node has read that request). */
    private final Map<Long, Integer> requestBytes = new ConcurrentHashMap<>();
    /**
     * Unanswered request bytes up to which a reader thread may write a request itself: far below
     * what the kernel buffers on the way to a node that stops reading hold (its receive buffer
     * alone is 128 KiB by default on Linux), so the write completes without the node reading.
     */
    static final int READER_WRITE_BYTES = 16 * 1024;
    private final ScheduledExecutorService timer;
    /** In-flight calls by Seq. Invariant: a call is removed exactly once, by whoever completes it. */
    private final Map<Long, CompletableFuture<Reply>> pending = new ConcurrentHashMap<>();
    private final AtomicLong seq = new AtomicLong();
    /** Seq of the request being written now, 0 if none (guarded by {@code out}). */
    private volatile long writing;
    private volatile boolean broken;

    private RpcConnection(String address, Socket socket, ScheduledExecutorService timer) throws IOException {
        this.address = address;
        this.socket = socket;
        this.timer = timer;
        this.out = new CountingOutput(new BufferedOutputStream(socket.getOutputStream(), 64 * 1024));
        Thread reader = new ReaderThread(this::readLoop, "forestbus-client-reader-" + address);
        reader.setDaemon(true);
        reader.start();
    }

    /** Connects to {@code host:port} (an empty host means localhost); blocks up to {@code connectTimeoutMs}. */
    static RpcConnection open(String address, int connectTimeoutMs, ScheduledExecutorService timer) throws IOException {
        int colon = address.lastIndexOf(':');
        if (colon < 0) {
            throw new IOException("node address without port: " + address);
        }
        String host = address.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IOException("bad port in node address " + address);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            s.connect(new InetSocketAddress(host.isEmpty() ? "localhost" : host, port), connectTimeoutMs);
            return new RpcConnection(address, s, timer);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    String address() {
        return address;
    }

    boolean isBroken() {
        return broken;
    }

    int pendingCalls() {
        return pending.size();
    }

    /** Whether the current thread is the reader thread of some connection (it must not write requests). */
    static boolean onReaderThread() {
        return Thread.currentThread() instanceof ReaderThread;
    }

    /**
     * Sends {@code RPCHandler.<method>} and returns its reply. The future fails with a
     * {@link ForestBusClientException} of reason CONNECTION (broken connection) or TIMEOUT (no reply
     * within {@code timeoutMs} from now, 0 = none; see {@link #call(String, Wire.Args, CompletableFuture)}).
     */
    CompletableFuture<Reply> call(String method, Wire.Args args, long timeoutMs) {
        CompletableFuture<Reply> f = new CompletableFuture<>();
        expireAfter(f, timeoutMs, timer, method + " to " + address);
        call(method, args, f);
        return f;
    }

    /**
     * Sends {@code RPCHandler.<method>}, blocking while the request is written, and completes
     * {@code f} with its reply, or fails it with CONNECTION once the connection breaks. Whoever
     * else completes {@code f} first (a timeout started when the call was made, a cancel) frees its
     * Seq (a late reply is dropped, the connection stays usable) - unless the request is still
     * being written: then the connection is broken, because a half-written request cannot be taken
     * back and every later request waits behind it. So no write outlasts its call.
     */
    void call(String method, Wire.Args args, CompletableFuture<Reply> f) {
        if (f.isDone()) {
            return;
        }
        long s = seq.incrementAndGet();
        send(s, method, f, () -> {
            long before = out.count;
            Wire.writeRequest(out, "RPCHandler." + method, s, args);
            sent(s, out.count - before); // before the last bytes go: no reply can come earlier
        });
    }

    /**
     * Like {@link #call(String, Wire.Args, CompletableFuture)} for a reader thread: sends the call
     * only if its request, with the bytes of requests still unanswered on this connection, stays
     * within {@link #READER_WRITE_BYTES}, so that the write cannot block; returns false (nothing
     * sent) otherwise. The caller must hold the only write turn on this connection (no other
     * request half-written, which would hold the lock a blocked writer keeps).
     */
    boolean callWithoutBlocking(String method, Wire.Args args, CompletableFuture<Reply> f) {
        if (f.isDone() || broken) {
            call(method, args, f); // settles it without writing
            return true;
        }
        long s = seq.incrementAndGet();
        java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream(256);
        try {
            Wire.writeRequest(request, "RPCHandler." + method, s, args);
        } catch (IOException | RuntimeException e) {
            f.completeExceptionally(e);
            return true;
        }
        if (unansweredBytes.get() + request.size() > READER_WRITE_BYTES) {
            return false;
        }
        send(s, method, f, () -> {
            sent(s, request.size());
            request.writeTo(out);
        });
        return true;
    }

    /** Writes a request's bytes to the socket. */
    @FunctionalInterface
    private interface RequestWriter {
        void write() throws IOException;
    }

    /**
     * Registers call {@code s} as pending, then writes it with {@code request} and flushes, all
     * under the {@code out} lock, while {@link #writing} names it (see {@link #call}).
     */
    private void send(long s, String method, CompletableFuture<Reply> f, RequestWriter request) {
        pending.put(s, f);
        f.whenComplete((r, e) -> {
            if (pending.remove(s) != null && writing == s) {
                breakConnection(new IOException(method + " ended while its request was being written"));
            }
        });
        if (broken) {
            fail(s, null);
            return;
        }
        try {
            synchronized (out) {
                writing = s;
                try {
                    request.write();
                    out.flush();
                } finally {
                    writing = 0;
                }
            }
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
        }
    }

    private void sent(long s, long bytes) {
        requestBytes.put(s, (int) Math.min(Integer.MAX_VALUE, bytes));
        unansweredBytes.addAndGet(bytes);
    }

    private void answered(long s) {
        Integer b = requestBytes.remove(s);
        if (b != null) {
            unansweredBytes.addAndGet(-b);
        }
    }

    /**
     * Fails {@code f} with TIMEOUT after {@code timeoutMs} (0 = never), or with CLOSED at once when
     * {@code timer} is shut down; the timer entry is dropped as soon as {@code f} completes.
     */
    static void expireAfter(CompletableFuture<Reply> f, long timeoutMs, ScheduledExecutorService timer, String what) {
        if (timeoutMs <= 0) {
            return;
        }
        try {
            ScheduledFuture<?> t = timer.schedule(() -> f.completeExceptionally(new ForestBusClientException(
                    ForestBusClientException.Reason.TIMEOUT, what + " got no reply within " + timeoutMs + " ms")),
                    timeoutMs, TimeUnit.MILLISECONDS);
            f.whenComplete((r, e) -> t.cancel(false));
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(new ForestBusClientException(ForestBusClientException.Reason.CLOSED, "client closed"));
        }
    }

    private void readLoop() {
        try {
            // created here: the parser's bootstrapper blocks until the first reply bytes arrive
            CBORParser parser = Wire.parser(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            while (true) {
                Object header = Wire.readValue(parser);
                if (header == Wire.EOF) {
                    throw new IOException("connection closed by " + address);
                }
                Object body = Wire.readValue(parser);
                if (body == Wire.EOF) {
                    throw new IOException("connection closed by " + address + " inside a reply");
                }
                Map<String, Object> h = Wire.map(header);
                long s = Wire.number(h, "Seq");
                answered(s);
                CompletableFuture<Reply> f = pending.remove(s);
                if (f != null) { // else: timed out or cancelled meanwhile
                    f.complete(new Reply(Wire.string(h, "Error"), Wire.map(body)));
                }
            }
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
        }
    }

    private void breakConnection(Throwable cause) {
        broken = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Long s : pending.keySet()) {
            fail(s, cause);
        }
    }

    private void fail(long s, Throwable cause) {
        CompletableFuture<Reply> f = pending.remove(s);
        if (f != null) {
            f.completeExceptionally(new ForestBusClientException(ForestBusClientException.Reason.CONNECTION,
                    "connection to " + address + " broken" + (cause == null ? "" : ": " + cause), cause));
        }
    }

    @Override
    public void close() {
        breakConnection(new IOException("client closed"));
    }

    /** Counts the bytes written through it (guarded by the connection's {@code out} lock). */
    private static final class CountingOutput extends java.io.FilterOutputStream {
        long count;

        CountingOutput(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    /** Marks reader threads (see {@link #onReaderThread()}). */
    private static final class ReaderThread extends Thread {
        ReaderThread(Runnable r, String name) {
            super(r, name);
        }
    }
}
