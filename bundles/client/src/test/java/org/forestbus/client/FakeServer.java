package org.forestbus.client;

import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import com.fasterxml.jackson.dataformat.cbor.CBORParser;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small CBOR-RPC server on a loopback port for tests: Go net/rpc framing, every request handed
 * to {@link #handler} which answers with a future, so replies go out in completion order (out of
 * order when the test says so). Independent of the client's request encoding: it reads generic
 * values and writes replies with its own generator calls.
 */
final class FakeServer implements AutoCloseable {

    /** A received request. */
    record Call(int connection, String method, long seq, Map<String, Object> args) {
    }

    /** An answer: header Error (empty = success) and the body writer. */
    record Answer(String error, Wire.Args body) {
        static Answer ok(Wire.Args body) {
            return new Answer("", body);
        }
    }

    @FunctionalInterface
    interface Handler {
        CompletableFuture<Answer> handle(Call call) throws Exception;
    }

    final List<Call> calls = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    /** Connections that ended (closed by the client, or by {@link #dropConnections}). */
    final AtomicInteger closedConnections = new AtomicInteger();
    volatile Handler handler;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    FakeServer(Handler handler) throws IOException {
        this(handler, 0);
    }

    /** A server on loopback {@code port} (0: a free one), e.g. the port of a closed one it replaces. */
    FakeServer(Handler handler, int port) throws IOException {
        this.handler = handler;
        this.server = new ServerSocket();
        server.setReuseAddress(true); // the closed server's connections may linger in TIME_WAIT
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        Thread t = new Thread(this::acceptLoop, "fake-server-accept");
        t.setDaemon(true);
        t.start();
    }

    String address() {
        return "127.0.0.1:" + port();
    }

    int port() {
        return server.getLocalPort();
    }

    long count(String method) {
        return calls.stream().filter(c -> c.method().equals(method)).count();
    }

    /** Closes every open connection (the server keeps accepting). */
    void dropConnections() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket s = server.accept();
                sockets.add(s);
                int n = connections.incrementAndGet();
                Thread t = new Thread(() -> serve(s, n), "fake-server-conn-" + n);
                t.setDaemon(true);
                t.start();
            }
        } catch (IOException closed) {
            // server closed
        }
    }

    private void serve(Socket s, int n) {
        try (s) {
            CBORParser p = Wire.parser(new BufferedInputStream(s.getInputStream()));
            OutputStream out = new BufferedOutputStream(s.getOutputStream());
            while (true) {
                Object header = Wire.readValue(p);
                if (header == Wire.EOF) {
                    return;
                }
                Object args = Wire.readValue(p);
                Map<String, Object> h = Wire.map(header);
                String method = Wire.string(h, "ServiceMethod").replace("RPCHandler.", "");
                Call call = new Call(n, method, Wire.number(h, "Seq"), Wire.map(args));
                calls.add(call);
                CompletableFuture<Answer> f;
                try {
                    f = handler.handle(call);
                } catch (Exception e) {
                    f = CompletableFuture.completedFuture(new Answer(e.toString(), null));
                }
                if (f == null) { // no answer at all
                    continue;
                }
                f.thenAccept(a -> write(out, call, a));
            }
        } catch (IOException e) {
            // connection closed
        } finally {
            closedConnections.incrementAndGet();
        }
    }

    private static void write(OutputStream out, Call call, Answer a) {
        synchronized (out) {
            try (CBORGenerator g = (CBORGenerator) Wire.FACTORY.createGenerator(out)) {
                g.writeStartObject(null, 3);
                g.writeFieldName("Error");
                g.writeString(a.error());
                g.writeFieldName("Seq");
                g.writeNumber(call.seq());
                g.writeFieldName("ServiceMethod");
                g.writeString("RPCHandler." + call.method());
                g.writeEndObject();
                (a.error().isEmpty() ? a.body() : Wire.EMPTY_ARGS).write(g);
                g.flush();
                out.flush();
            } catch (IOException closed) {
                // client went away
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        dropConnections();
    }

    // ---- reply bodies ----

    static void result(CBORGenerator g, int code, String extra1) throws IOException {
        g.writeFieldName("Result");
        g.writeStartObject(null, 3);
        g.writeFieldName("Code");
        g.writeNumber(code);
        g.writeFieldName("Description");
        g.writeString("code " + code);
        g.writeFieldName("Extra1");
        g.writeString(extra1);
        g.writeEndObject();
    }

    static CompletableFuture<Answer> sendResult(int code, String extra1, long... ids) {
        return CompletableFuture.completedFuture(Answer.ok(g -> {
            g.writeStartObject(null, 2);
            g.writeFieldName("IDs");
            if (code != 0) {
                g.writeNull();
            } else {
                g.writeStartArray(null, ids.length);
                for (long id : ids) {
                    g.writeNumber(id);
                }
                g.writeEndArray();
            }
            result(g, code, extra1);
            g.writeEndObject();
        }));
    }

    /** Payloads as byte strings, or as text strings when {@code asText}. */
    static Answer receiveResult(int code, long nextId, List<byte[]> msgs, boolean asText) {
        return Answer.ok(g -> {
            g.writeStartObject(null, 3);
            g.writeFieldName("NextID");
            g.writeNumber(nextId);
            g.writeFieldName("ReceivedMessages");
            if (msgs == null) {
                g.writeNull();
            } else {
                g.writeStartArray(null, msgs.size());
                for (byte[] m : msgs) {
                    if (asText) {
                        g.writeString(new String(m, java.nio.charset.StandardCharsets.UTF_8));
                    } else {
                        g.writeBinary(m);
                    }
                }
                g.writeEndArray();
            }
            result(g, code, "");
            g.writeEndObject();
        });
    }

    static Answer topicResult(int code, long first, long last, long commit) {
        return Answer.ok(g -> {
            g.writeStartObject(null, 4);
            g.writeFieldName("CommitIndex");
            g.writeNumber(commit);
            g.writeFieldName("FirstIndex");
            g.writeNumber(first);
            g.writeFieldName("LastIndex");
            g.writeNumber(last);
            result(g, code, "");
            g.writeEndObject();
        });
    }

    static Answer clusterResult(String clusterId) {
        return Answer.ok(g -> {
            g.writeStartObject(null, 4);
            g.writeFieldName("ClusterID");
            g.writeBinary(clusterId.getBytes(java.nio.charset.StandardCharsets.UTF_8)); // byte string: must be tolerated
            g.writeFieldName("Peers");
            g.writeStartArray(null, 1);
            g.writeString("node-a");
            g.writeEndArray();
            result(g, 0, "");
            g.writeFieldName("Topics");
            g.writeStartArray(null, 1);
            g.writeString("t");
            g.writeEndArray();
            g.writeEndObject();
        });
    }
}
