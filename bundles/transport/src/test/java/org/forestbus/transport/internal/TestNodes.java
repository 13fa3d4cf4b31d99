package org.forestbus.transport.internal;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.annotation.Annotation;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.transport.FrameHandler;
import org.forestbus.api.transport.PeerStatus;

/**
 * Test cluster on loopback: fake {@link NodeInfo}s sharing one address book (so a test can point
 * a dialer at a proxy), transports on free ports, and a raw-socket peer speaking the wire by hand.
 */
final class TestNodes implements AutoCloseable {

    final List<String> names;
    /** name → address dialers use; filled as transports bind, replaceable by a proxy address. */
    final Map<String, String> addresses = new ConcurrentHashMap<>();
    private final List<TcpPeerTransport> started = Collections.synchronizedList(new ArrayList<>());

    TestNodes(String... names) {
        this.names = List.of(names);
    }

    NodeInfo node(String self, String clusterId) {
        return new NodeInfo() {
            @Override
            public String clusterId() {
                return clusterId;
            }

            @Override
            public String nodeName() {
                return self;
            }

            @Override
            public List<Peer> peers() {
                List<String> all = new ArrayList<>(names);
                if (!all.contains(self)) {
                    all.add(self);
                }
                Collections.sort(all);
                return all.stream().map(n -> new Peer(n, addresses.getOrDefault(n, ""), "", "")).toList();
            }
        };
    }

    TcpPeerTransport start(String name) {
        return start(name, new Cfg());
    }

    TcpPeerTransport start(String name, Cfg cfg) {
        return start(name, "c1", cfg);
    }

    TcpPeerTransport start(String name, String clusterId, Cfg cfg) {
        TcpPeerTransport t = new TcpPeerTransport(node(name, clusterId), cfg);
        started.add(t);
        if (t.localPort() > 0) {
            addresses.putIfAbsent(name, "127.0.0.1:" + t.localPort());
        }
        return t;
    }

    void stop(TcpPeerTransport t) {
        started.remove(t);
        t.deactivate();
    }

    static boolean connected(TcpPeerTransport t, String peer) {
        return status(t, peer).connected();
    }

    static PeerStatus status(TcpPeerTransport t, String peer) {
        return t.peers().stream().filter(p -> p.node().equals(peer)).findFirst().orElseThrow();
    }

    static ByteBuffer intPayload(int v, int size) {
        ByteBuffer b = ByteBuffer.allocate(Math.max(4, size));
        b.putInt(0, v);
        return b;
    }

    @Override
    public void close() {
        for (TcpPeerTransport t : new ArrayList<>(started)) {
            t.deactivate();
        }
        started.clear();
    }

    /** Typed config for tests (port 0, short backoff, a secret). */
    static final class Cfg implements TransportConfig {
        int port = 0;
        String secret = "s3cret";
        int maxFrame = 64 << 20;
        long queue = 64L << 20;
        long queueTotal = 64L << 20;
        long reconnectMin = 20;
        long reconnectMax = 300;
        long connect = 2000;
        long handshake = 2000;
        long idle = 15000;

        Cfg port(int p) { port = p; return this; }
        Cfg secret(String s) { secret = s; return this; }
        Cfg maxFrame(int m) { maxFrame = m; return this; }
        Cfg queue(long q) { queue = q; return this; }
        Cfg queueTotal(long q) { queueTotal = q; return this; }
        Cfg handshake(long ms) { handshake = ms; return this; }
        Cfg idle(long ms) { idle = ms; return this; }

        @Override public Class<? extends Annotation> annotationType() { return TransportConfig.class; }
        @Override public String host() { return "127.0.0.1"; }
        @Override public int port() { return port; }
        @Override public String _secret() { return secret; }
        @Override public int max_frame_bytes() { return maxFrame; }
        @Override public long queue_bytes_per_peer() { return queue; }
        @Override public long queue_bytes_total() { return queueTotal; }
        @Override public long reconnect_min_ms() { return reconnectMin; }
        @Override public long reconnect_max_ms() { return reconnectMax; }
        @Override public long connect_timeout_ms() { return connect; }
        @Override public long handshake_timeout_ms() { return handshake; }
        @Override public long idle_timeout_ms() { return idle; }
    }

    /** Records the first int of every payload per "from/topic", in arrival order. */
    static final class Inbox implements FrameHandler {
        final Map<String, List<Integer>> received = new ConcurrentHashMap<>();
        final AtomicLong count = new AtomicLong();

        @Override
        public void onFrame(String fromNode, String topic, ByteBuffer payload) {
            received.computeIfAbsent(fromNode + "/" + topic, k -> Collections.synchronizedList(new ArrayList<>()))
                    .add(payload.getInt(payload.position()));
            count.incrementAndGet();
        }

        List<Integer> of(String from, String topic) {
            return received.getOrDefault(from + "/" + topic, List.of());
        }
    }

    /** A hand-driven peer on a plain socket. */
    static final class RawPeer implements AutoCloseable {
        final Socket socket;
        final DataInputStream in;

        record Frame(byte type, ByteBuffer body) {
        }

        RawPeer(int port) throws IOException {
            socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.setSoTimeout(5000);
            in = new DataInputStream(socket.getInputStream());
        }

        void write(ByteBuffer frame) throws IOException {
            socket.getOutputStream().write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
            socket.getOutputStream().flush();
        }

        void write(byte[] bytes) throws IOException {
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
        }

        /** Next frame, or null on EOF/reset. */
        Frame read() throws IOException {
            try {
                int len = in.readInt();
                byte type = in.readByte();
                in.readInt();
                byte[] body = new byte[len];
                in.readFully(body);
                return new Frame(type, ByteBuffer.wrap(body));
            } catch (EOFException | SocketException e) {
                return null;
            }
        }

        /** True when the other side closed the connection within the socket timeout. */
        boolean closedByPeer() throws IOException {
            try {
                while (true) {
                    if (socket.getInputStream().read() < 0) {
                        return true;
                    }
                }
            } catch (SocketTimeoutException e) {
                return false;
            } catch (SocketException e) {
                return true;
            }
        }

        /** HELLO → CHALLENGE; returns {connectorNonce, acceptorNonce} or null if rejected. */
        byte[][] hello(String cluster, String from, String to) throws IOException {
            byte[] nc = new byte[Wire.NONCE];
            new SecureRandom().nextBytes(nc);
            return hello(cluster, from, to, nc);
        }

        /** HELLO with a chosen connector nonce (replay tests). */
        byte[][] hello(String cluster, String from, String to, byte[] nc) throws IOException {
            write(Wire.hello(cluster, from, to, nc));
            Frame f = read();
            if (f == null || f.type() != Wire.CHALLENGE) {
                return null;
            }
            byte[] na = new byte[Wire.NONCE];
            f.body().get(na);
            return new byte[][] {nc, na};
        }

        /** Full handshake as {@code from}; true when ACCEPTed. */
        boolean authenticate(String cluster, String from, String to, String secret) throws IOException {
            byte[][] n = hello(cluster, from, to);
            if (n == null) {
                return false;
            }
            write(Wire.frame(Wire.AUTH, Wire.hmac(secret.getBytes(StandardCharsets.UTF_8), "connector", n[0], n[1],
                    cluster, from, to)));
            Frame f = read();
            return f != null && f.type() == Wire.ACCEPT;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
