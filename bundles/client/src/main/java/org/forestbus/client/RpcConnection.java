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
 * Reply futures complete on that reader thread, which must therefore never write a request
 * (it would stop reading replies while a peer that stops reading requests when its replies back
 * up waits for it): see {@link #onReaderThread()}. Once broken (I/O error, EOF, undecodable
 * reply) the connection fails every pending and later call and must be replaced.
 */
final class RpcConnection implements AutoCloseable {

    /** A decoded reply: the header's {@code Error} and the body tree. */
    record Reply(String error, Map<String, Object> body) {
    }

    private final String address;
    private final Socket socket;
    private final OutputStream out;
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
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
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
                    Wire.writeRequest(out, "RPCHandler." + method, s, args);
                    out.flush();
                } finally {
                    writing = 0;
                }
            }
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
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
                CompletableFuture<Reply> f = pending.remove(Wire.number(h, "Seq"));
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

    /** Marks reader threads (see {@link #onReaderThread()}). */
    private static final class ReaderThread extends Thread {
        ReaderThread(Runnable r, String name) {
            super(r, name);
        }
    }
}
