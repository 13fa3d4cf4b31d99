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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One multiplexed CBOR-RPC connection to one node (Go {@code net/rpc} framing, FORESTBUS-SPEC §6.4).
 * Any thread may {@link #call}; requests are written under the connection's lock and pipelined;
 * one reader thread matches replies to calls by {@code Seq}, in whatever order the server answers.
 * Reply futures complete on that reader thread. Once broken (I/O error, EOF, undecodable reply)
 * the connection fails every pending and later call and must be replaced.
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
    private volatile boolean broken;

    private RpcConnection(String address, Socket socket, ScheduledExecutorService timer) throws IOException {
        this.address = address;
        this.socket = socket;
        this.timer = timer;
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
        Thread reader = new Thread(this::readLoop, "forestbus-client-reader-" + address);
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

    /**
     * Sends {@code RPCHandler.<method>} and returns its reply. The future fails with a
     * {@link ForestBusClientException} of reason CONNECTION (broken connection) or TIMEOUT (no reply
     * within {@code timeoutMs}; the connection stays usable and a late reply is dropped).
     */
    CompletableFuture<Reply> call(String method, Wire.Args args, long timeoutMs) {
        CompletableFuture<Reply> f = new CompletableFuture<>();
        long s = seq.incrementAndGet();
        pending.put(s, f);
        if (broken) {
            fail(s, null);
            return f;
        }
        try {
            synchronized (out) {
                Wire.writeRequest(out, "RPCHandler." + method, s, args);
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
            return f;
        }
        if (timeoutMs > 0 && !f.isDone()) {
            var t = timer.schedule(() -> {
                CompletableFuture<Reply> p = pending.remove(s);
                if (p != null) {
                    p.completeExceptionally(new ForestBusClientException(ForestBusClientException.Reason.TIMEOUT,
                            method + " to " + address + " got no reply within " + timeoutMs + " ms"));
                }
            }, timeoutMs, TimeUnit.MILLISECONDS);
            f.whenComplete((r, e) -> t.cancel(false));
        }
        // a caller's cancel() frees the slot (the late reply is then dropped)
        f.whenComplete((r, e) -> {
            if (f.isCancelled()) {
                pending.remove(s);
            }
        });
        return f;
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
}
