package org.forestbus.transport.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.forestbus.transport.internal.TestNodes.connected;
import static org.forestbus.transport.internal.TestNodes.intPayload;
import static org.forestbus.transport.internal.TestNodes.status;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.forestbus.transport.internal.TestNodes.Cfg;
import org.forestbus.transport.internal.TestNodes.Inbox;
import org.forestbus.transport.internal.TestNodes.RawPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpPeerTransportTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private TestNodes nodes;

    @AfterEach
    void tearDown() {
        if (nodes != null) {
            nodes.close();
        }
    }

    private static void awaitConnected(TcpPeerTransport t, String peer) {
        await().atMost(WAIT).until(() -> connected(t, peer));
    }

    private static List<Integer> range(int n) {
        return IntStream.range(0, n).boxed().toList();
    }

    @Test
    void twoNodesExchangeManyTopicsInOrder() {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        TcpPeerTransport a = nodes.start("a");
        Inbox inA = new Inbox();
        Inbox inB = new Inbox();
        int topics = 50;
        int perTopic = 200;
        for (int t = 0; t < topics; t++) {
            a.register("topic-" + t, inA);
            b.register("topic-" + t, inB);
        }
        awaitConnected(a, "b");
        awaitConnected(b, "a");
        for (int i = 0; i < perTopic; i++) {
            for (int t = 0; t < topics; t++) {
                assertThat(a.send("b", "topic-" + t, intPayload(i, 16))).isTrue();
                assertThat(b.send("a", "topic-" + t, intPayload(i, 100))).isTrue();
            }
        }
        await().atMost(WAIT).until(() -> inA.count.get() == topics * perTopic && inB.count.get() == topics * perTopic);
        for (int t = 0; t < topics; t++) {
            assertThat(inB.of("a", "topic-" + t)).isEqualTo(range(perTopic));
            assertThat(inA.of("b", "topic-" + t)).isEqualTo(range(perTopic));
        }
        assertThat(status(a, "b").framesSent()).isEqualTo(topics * perTopic);
        assertThat(status(b, "a").framesReceived()).isEqualTo(topics * perTopic);
        assertThat(status(a, "b").queuedBytes()).isZero();
    }

    @Test
    void threeNodesEveryPairInOrderAndUnregisteredTopicsDropped() throws Exception {
        nodes = new TestNodes("a", "b", "c");
        List<TcpPeerTransport> ts = List.of(nodes.start("c"), nodes.start("b"), nodes.start("a"));
        List<String> names = List.of("c", "b", "a");
        Inbox[] inboxes = new Inbox[3];
        AutoCloseable[] regs = new AutoCloseable[3];
        for (int i = 0; i < 3; i++) {
            inboxes[i] = new Inbox();
            for (int t = 0; t < 20; t++) {
                AutoCloseable r = ts.get(i).register("t" + t, inboxes[i]);
                if (t == 0) {
                    regs[i] = r;
                }
            }
        }
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                if (i != j) {
                    awaitConnected(ts.get(i), names.get(j));
                }
            }
        }
        for (AutoCloseable r : regs) {
            r.close(); // topic t0 now has no handler anywhere
        }
        assertThatThrownBy(() -> ts.get(0).register("t1", new Inbox())).isInstanceOf(IllegalStateException.class);
        for (int k = 0; k < 100; k++) {
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    for (int t = 0; t < 20 && i != j; t++) {
                        assertThat(ts.get(i).send(names.get(j), "t" + t, intPayload(k, 8))).isTrue();
                    }
                }
            }
        }
        await().atMost(WAIT).until(() -> inboxes[0].count.get() + inboxes[1].count.get() + inboxes[2].count.get()
                == 3 * 2 * 19 * 100);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                if (i != j) {
                    assertThat(inboxes[i].of(names.get(j), "t0")).isEmpty();
                    for (int t = 1; t < 20; t++) {
                        assertThat(inboxes[i].of(names.get(j), "t" + t)).as("%s->%s t%d", names.get(j), names.get(i), t)
                                .isEqualTo(range(100));
                    }
                }
            }
        }
        assertThat(ts.get(0).send("zz", "t1", intPayload(1, 4))).as("unknown peer").isFalse();
        assertThat(ts.get(2).peers()).extracting(p -> p.node()).containsExactly("b", "c");
    }

    @Test
    void wrongSecretIsRejectedBothWays() throws Exception {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b", new Cfg().secret("Secret-One-xyzzy"));
        TcpPeerTransport a = nodes.start("a", new Cfg().secret("Secret-Two-plugh"));
        Inbox inB = new Inbox();
        b.register("t", inB);
        // the dialer checks the acceptor's proof first and refuses to answer it
        await().atMost(WAIT).until(() -> a.violations() >= 2 && b.violations() >= 2);
        assertThat(a.lastViolation()).contains("node 'b'").contains("failed to prove the cluster secret");
        assertThat(status(a, "b").lastError()).contains("failed to prove the cluster secret");
        assertThat(b.lastViolation()).contains("rejected by node 'a'").contains("failed to prove");
        assertThat(a.send("b", "t", intPayload(1, 4))).isFalse();
        assertThat(a.connects("b")).isZero();
        assertThat(inB.count.get()).isZero();

        nodes.stop(a);
        // the acceptor checks the dialer's proof: a raw peer answering with a wrong HMAC
        try (RawPeer raw = new RawPeer(b.localPort())) {
            assertThat(raw.authenticate("c1", "a", "b", "not-the-secret")).isFalse();
            assertThat(raw.closedByPeer()).isTrue();
        }
        await().atMost(WAIT).until(() -> b.lastViolation().contains("node 'a' failed to prove the cluster secret"));
        assertThat(b.connects("a")).isZero();
        for (String text : List.of(a.lastViolation(), b.lastViolation(), String.valueOf(a.peers()), String.valueOf(b.peers()))) {
            assertThat(text).doesNotContain("Secret-One").doesNotContain("Secret-Two");
        }
    }

    @Test
    void aReplayedHandshakeIsRejected() throws Exception {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        byte[] nc = new byte[Wire.NONCE];
        nc[0] = 42;
        ByteBuffer recordedAuth;
        try (RawPeer first = new RawPeer(b.localPort())) {
            byte[][] n = first.hello("c1", "a", "b", nc);
            recordedAuth = Wire.frame(Wire.AUTH, Wire.hmac("s3cret".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    "connector", n[0], n[1], "c1", "a", "b"));
        } // an eavesdropper now holds a valid HELLO and AUTH of this exchange
        try (RawPeer replay = new RawPeer(b.localPort())) {
            byte[][] n = replay.hello("c1", "a", "b", nc);
            assertThat(n).isNotNull();
            replay.write(recordedAuth);
            RawPeer.Frame f = replay.read();
            assertThat(f).isNotNull();
            assertThat(f.type()).isEqualTo(Wire.REJECT);
            assertThat(raw(f.body())).contains("failed to prove the cluster secret");
            assertThat(replay.closedByPeer()).isTrue();
        }
        assertThat(b.connects("a")).isZero();
    }

    @Test
    void unauthenticatedConnectionsAreCappedAndTimedOut() throws Exception {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b", new Cfg().handshake(1500));
        List<RawPeer> idle = new ArrayList<>();
        try {
            for (int i = 0; i < TcpPeerTransport.MAX_PENDING_INBOUND; i++) {
                idle.add(new RawPeer(b.localPort()));
            }
            await().atMost(WAIT).until(() -> {
                try (RawPeer extra = new RawPeer(b.localPort())) {
                    return extra.closedByPeer() && b.lastViolation() != null
                            && b.lastViolation().contains("connections already handshaking");
                }
            });
            // the silent ones are closed by the handshake timeout, then the listener serves again
            for (RawPeer r : idle) {
                assertThat(r.closedByPeer()).isTrue();
            }
            assertThat(b.lastViolation()).contains("handshake timed out");
            try (RawPeer ok = new RawPeer(b.localPort())) {
                assertThat(ok.authenticate("c1", "a", "b", "s3cret")).isTrue();
            }
        } finally {
            for (RawPeer r : idle) {
                r.close();
            }
        }
    }

    private static String raw(ByteBuffer b) {
        return java.nio.charset.StandardCharsets.UTF_8.decode(b.duplicate()).toString();
    }

    @Test
    void wrongClusterIdAndUnknownNodeAreRejectedBeforeAnyData() throws Exception {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        Inbox inB = new Inbox();
        b.register("t", inB);
        TcpPeerTransport a = nodes.start("a", "other-cluster", new Cfg());
        await().atMost(WAIT).until(() -> b.violations() >= 1);
        assertThat(b.lastViolation()).contains("node 'a'").contains("wrong cluster id 'other-cluster'");
        await().atMost(WAIT).until(() -> status(a, "b").lastError() != null
                && status(a, "b").lastError().contains("rejected by node 'b'")
                && status(a, "b").lastError().contains("wrong cluster id"));
        nodes.stop(a);

        // "a0" is not among b's peers
        TestNodes strangers = new TestNodes("a0", "b");
        strangers.addresses.put("b", nodes.addresses.get("b"));
        TcpPeerTransport a0 = strangers.start("a0", new Cfg());
        try {
            await().atMost(WAIT).until(() -> b.lastViolation().contains("unknown node 'a0'"));
            assertThat(connected(a0, "b")).isFalse();
        } finally {
            strangers.close();
        }
        // data before authentication is a protocol violation, never delivered
        try (RawPeer raw = new RawPeer(b.localPort())) {
            assertThat(raw.hello("c1", "a", "b")).isNotNull();
            ByteBuffer data = ByteBuffer.allocate(64);
            data.position(Wire.HEADER);
            data.putInt(1).put(Wire.str("t")).putInt(4).putInt(7);
            Wire.finishFrame(data, 0, Wire.DATA);
            raw.write(data.flip());
            assertThat(raw.closedByPeer()).isTrue();
        }
        await().atMost(WAIT).until(() -> b.lastViolation().contains("expected AUTH but got DATA"));
        // a HELLO from a node that should be dialed, not dial
        try (RawPeer raw = new RawPeer(b.localPort())) {
            assertThat(raw.hello("c1", "c", "b")).isNull();
        }
        await().atMost(WAIT).until(() -> b.lastViolation().contains("unknown node 'c'"));
        assertThat(inB.count.get()).isZero();
    }

    @Test
    void malformedInputClosesOnlyThatConnection() throws Exception {
        long seed = System.nanoTime();
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b", new Cfg().maxFrame(1 << 20));
        TcpPeerTransport a = nodes.start("a", new Cfg().maxFrame(1 << 20));
        Inbox inB = new Inbox();
        b.register("t", inB);
        awaitConnected(a, "b");

        // oversized length before authentication: closed without allocating
        try (RawPeer raw = new RawPeer(b.localPort())) {
            raw.write(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, Wire.HELLO, 0, 0, 0, 0});
            assertThat(raw.closedByPeer()).isTrue();
        }
        assertThat(b.lastViolation()).contains("frame length 2147483647 exceeds the cap of 4096 bytes before authentication");

        // garbage
        byte[] junk = new byte[200];
        new Random(seed).nextBytes(junk);
        junk[0] = 0; // a plausible small length, so the CRC (or the type) is what fails
        junk[1] = 0;
        junk[2] = 0;
        junk[3] = 10;
        long before = b.violations();
        try (RawPeer raw = new RawPeer(b.localPort())) {
            raw.write(junk);
            assertThat(raw.closedByPeer()).as("seed %d", seed).isTrue();
        }
        await().atMost(WAIT).until(() -> b.violations() > before);
        assertThat(b.lastViolation()).as("seed %d", seed).contains("checksum mismatch");

        // oversized and corrupt frames after authentication (a raw peer impersonating a, with the secret)
        try (RawPeer raw = new RawPeer(b.localPort())) {
            assertThat(raw.authenticate("c1", "a", "b", "s3cret")).isTrue();
            raw.write(new byte[] {0, 0x10, 0, 1, Wire.DATA, 0, 0, 0, 0});
            assertThat(raw.closedByPeer()).isTrue();
        }
        assertThat(b.lastViolation()).contains("exceeds the cap of 1048576 bytes (max.frame.bytes)");
        try (RawPeer raw = new RawPeer(b.localPort())) {
            assertThat(raw.authenticate("c1", "a", "b", "s3cret")).isTrue();
            ByteBuffer data = ByteBuffer.allocate(64);
            data.position(Wire.HEADER);
            data.putInt(1).put(Wire.str("t")).putInt(4).putInt(7);
            Wire.finishFrame(data, 0, Wire.DATA);
            data.put(Wire.HEADER + 10, (byte) 99); // payload byte after the CRC was computed
            raw.write(data.flip());
            assertThat(raw.closedByPeer()).isTrue();
        }
        assertThat(b.lastViolation()).contains("checksum mismatch on DATA frame");
        assertThat(inB.count.get()).isZero();

        // the raw peers replaced a's connection (newest authenticated wins); a reconnects, frames flow
        awaitConnected(a, "b");
        await().atMost(WAIT).until(() -> a.send("b", "t", intPayload(42, 4)) && inB.count.get() > 0);
        assertThat(inB.of("a", "t")).contains(42);
    }

    @Test
    void checksumCorruptionOnTheWireIsDetectedAndTheLinkRecovers() throws Exception {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        try (var proxy = org.forestbus.transport.internal.proxy.FaultProxy.start(b.localPort())) {
            nodes.addresses.put("b", proxy.address());
            TcpPeerTransport a = nodes.start("a");
            Inbox inB = new Inbox();
            b.register("t", inB);
            awaitConnected(a, "b");
            proxy.corruptAfter(org.forestbus.transport.internal.proxy.FaultProxy.Direction.FORWARD, 1000);
            assertThat(a.send("b", "t", intPayload(1, 64 * 1024))).isTrue();
            await().atMost(WAIT).until(() -> b.violations() > 0);
            assertThat(b.lastViolation()).contains("node 'a'").contains("checksum mismatch on DATA frame");
            await().atMost(WAIT).until(() -> a.connects("b") == 2 && connected(a, "b"));
            await().atMost(WAIT).until(() -> a.send("b", "t", intPayload(2, 64 * 1024)) && !inB.of("a", "t").isEmpty());
            assertThat(inB.of("a", "t")).doesNotContain(1).contains(2);
        }
    }

    @Test
    void reconnectsAfterProxyResetAndAfterBlackhole() throws Exception {
        nodes = new TestNodes("a", "b");
        Cfg cfg = new Cfg().idle(1500).handshake(1000);
        TcpPeerTransport b = nodes.start("b", cfg);
        try (var proxy = org.forestbus.transport.internal.proxy.FaultProxy.start(b.localPort())) {
            nodes.addresses.put("b", proxy.address());
            TcpPeerTransport a = nodes.start("a", cfg);
            Inbox inB = new Inbox();
            b.register("t", inB);
            awaitConnected(a, "b");
            proxy.resetAll();
            await().atMost(WAIT).until(() -> a.connects("b") >= 2 && connected(a, "b"));
            await().atMost(WAIT).until(() -> a.send("b", "t", intPayload(1, 4)) && inB.of("a", "t").contains(1));

            // blackhole: nothing arrives any more, the idle timeout notices, new handshakes time out
            proxy.blackhole();
            await().atMost(WAIT).until(() -> !connected(a, "b"));
            assertThat(status(a, "b").lastError()).satisfiesAnyOf(
                    e -> assertThat(e).contains("idle timeout"), e -> assertThat(e).contains("handshake timed out"));
            long attempts = proxy.acceptedConnections();
            await().atMost(WAIT).until(() -> proxy.acceptedConnections() > attempts);
            assertThat(connected(a, "b")).isFalse();
            proxy.resetAll();
            proxy.pass();
            await().atMost(WAIT).until(() -> connected(a, "b"));
            await().atMost(WAIT).until(() -> a.send("b", "t", intPayload(2, 4)) && inB.of("a", "t").contains(2));
        }
    }

    @Test
    void restartedTransportsReconnect() {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        int port = b.localPort();
        TcpPeerTransport a = nodes.start("a");
        awaitConnected(a, "b");

        // acceptor restarts on the same port (bundle restart)
        nodes.stop(b);
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("forestbus-transport-b"));
        await().atMost(WAIT).until(() -> !connected(a, "b"));
        assertThat(a.send("b", "t", intPayload(1, 4))).isFalse();
        TcpPeerTransport b2 = nodes.start("b", new Cfg().port(port));
        Inbox inB = new Inbox();
        b2.register("t", inB);
        await().atMost(WAIT).until(() -> connected(a, "b") && connected(b2, "a"));
        await().atMost(WAIT).until(() -> a.send("b", "t", intPayload(1, 4)) && inB.of("a", "t").contains(1));

        // dialer restarts
        nodes.stop(a);
        await().atMost(WAIT).until(() -> !connected(b2, "a"));
        TcpPeerTransport a2 = nodes.start("a");
        Inbox inA = new Inbox();
        a2.register("t", inA);
        await().atMost(WAIT).until(() -> connected(a2, "b") && connected(b2, "a"));
        await().atMost(WAIT).until(() -> b2.send("a", "t", intPayload(2, 4)) && inA.of("b", "t").contains(2));
        assertThat(b2.connects("a")).isEqualTo(2);
    }

    @Test
    void aPortTakenAtActivationIsRetriedUntilItIsFree() throws Exception {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b;
        int port;
        try (java.net.ServerSocket holder = new java.net.ServerSocket()) {
            holder.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
            port = holder.getLocalPort();
            b = nodes.start("b", new Cfg().port(port)); // activation succeeds; it cannot listen yet
            assertThat(b.localPort()).isEqualTo(-1);
        }
        nodes.addresses.put("b", "127.0.0.1:" + port);
        int taken = port;
        await().atMost(WAIT).until(() -> b.localPort() == taken);
        TcpPeerTransport a = nodes.start("a");
        awaitConnected(a, "b");
        Inbox inB = new Inbox();
        b.register("t", inB);
        await().atMost(WAIT).until(() -> a.send("b", "t", intPayload(7, 4)) && inB.of("a", "t").contains(7));
    }

    /**
     * Each peer's queue is bounded by 256 KiB: set directly, or as node a's equal share of 512 KiB
     * for all queues (a has two peers). A stalled peer fills its own bound only.
     */
    @ParameterizedTest(name = "bound from {0}")
    @ValueSource(strings = {"queue.bytes.per.peer", "queue.bytes.total"})
    void fullQueueRefusesFramesForThatPeerOnly(String boundBy) throws Exception {
        nodes = new TestNodes("a", "b", "c");
        Cfg cfg = boundBy.equals("queue.bytes.total")
                ? new Cfg().queue(1 << 20).queueTotal(512 * 1024)
                : new Cfg().queue(256 * 1024);
        TcpPeerTransport b = nodes.start("b", cfg);
        TcpPeerTransport c = nodes.start("c", cfg);
        try (var proxy = org.forestbus.transport.internal.proxy.FaultProxy.start(b.localPort())) {
            nodes.addresses.put("b", proxy.address());
            TcpPeerTransport a = nodes.start("a", cfg);
            Inbox inB = new Inbox();
            Inbox inC = new Inbox();
            b.register("t", inB);
            c.register("t", inC);
            awaitConnected(a, "b");
            awaitConnected(a, "c");
            proxy.pause(org.forestbus.transport.internal.proxy.FaultProxy.Direction.FORWARD);
            java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
            // socket buffers absorb a few MiB first; once they are full the 256 KiB queue stays full
            // (stalled = a whole poll interval drained nothing from the full queue)
            await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
                boolean accepted = false;
                while (sent.get() < 10_000 && a.send("b", "t", intPayload(sent.get(), 16 * 1024))) {
                    sent.incrementAndGet();
                    accepted = true;
                }
                return !accepted && status(a, "b").queuedBytes() > 256 * 1024 - (16 * 1024 + 7); // not one more fits
            });
            int accepted = sent.get();
            assertThat(accepted).as("send to a stalled peer must eventually return false").isLessThan(10_000);
            assertThat(a.send("b", "t", intPayload(accepted, 16 * 1024))).isFalse();
            assertThat(status(a, "b").queuedBytes()).isGreaterThan(200 * 1024).isLessThanOrEqualTo(256 * 1024);
            System.out.println("transport backpressure: accepted " + accepted + " frames of 16 KiB before send() returned false");
            // the other peer is unaffected
            for (int i = 0; i < 100; i++) {
                assertThat(a.send("c", "t", intPayload(i, 1024))).isTrue();
            }
            await().atMost(WAIT).until(() -> inC.of("a", "t").size() == 100);
            assertThat(inC.of("a", "t")).isEqualTo(range(100));
            // a record larger than the bound still goes to a peer whose queue is empty
            assertThat(a.send("c", "t", intPayload(100, 300 * 1024))).isTrue();
            await().atMost(WAIT).until(() -> inC.of("a", "t").size() == 101);
            // the stalled peer catches up once the link drains, in order, with nothing lost
            proxy.pass();
            final int total = accepted;
            await().atMost(WAIT).until(() -> inB.of("a", "t").size() == total);
            assertThat(inB.of("a", "t")).isEqualTo(range(total));
            assertThat(a.send("b", "t", intPayload(total, 4))).isTrue();
        }
    }

    /**
     * Frames from empty to several times the read buffer, in bursts, arrive whole, in order and
     * byte-exact: small ones parsed in place from the read buffer (some split across its end),
     * large ones read into their own buffers.
     */
    @Test
    void framesOfEverySizeArriveByteExact() {
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        TcpPeerTransport a = nodes.start("a");
        List<byte[]> got = Collections.synchronizedList(new ArrayList<>());
        b.register("t", (from, topic, payload) -> {
            byte[] copy = new byte[payload.remaining()];
            payload.duplicate().get(copy);
            got.add(copy);
        });
        awaitConnected(a, "b");
        int[] edges = {0, 1, Connection.READ_BUFFER_BYTES - Wire.HEADER - 40, Connection.READ_BUFFER_BYTES,
            Connection.READ_BUFFER_BYTES + 1, 3 * Connection.READ_BUFFER_BYTES + 7};
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            int size = i < edges.length ? edges[i] : switch (rnd.nextInt(4)) {
                case 0 -> rnd.nextInt(32);
                case 1 -> rnd.nextInt(2000);
                case 2 -> rnd.nextInt(Connection.READ_BUFFER_BYTES + 100);
                default -> rnd.nextInt(4 * Connection.READ_BUFFER_BYTES);
            };
            byte[] p = new byte[size];
            rnd.nextBytes(p);
            sent.add(p);
            boolean ok = rnd.nextBoolean() ? a.send("b", "t", ByteBuffer.wrap(p)) : a.sendUrgent("b", "t", ByteBuffer.wrap(p));
            assertThat(ok).as("send %d (seed %d)", i, seed).isTrue();
        }
        await().atMost(WAIT).until(() -> got.size() >= sent.size());
        assertThat(got).as("seed %d", seed).hasSameSizeAs(sent);
        for (int i = 0; i < sent.size(); i++) {
            assertThat(got.get(i)).as("frame %d of %d bytes (seed %d)", i, sent.get(i).length, seed).isEqualTo(sent.get(i));
        }
        assertThat(connected(a, "b")).isTrue();
        assertThat(a.connects("b")).isEqualTo(1);
    }

    @Test
    void framesOfOneBurstAreCoalesced() {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        TcpPeerTransport a = nodes.start("a");
        Inbox inB = new Inbox();
        for (int t = 0; t < 1000; t++) {
            b.register("topic-" + t, inB);
        }
        awaitConnected(a, "b");
        awaitConnected(b, "a");
        long before = b.wireFramesReceived("a");
        for (int t = 0; t < 1000; t++) {
            assertThat(a.send("b", "topic-" + t, intPayload(t, 24))).isTrue();
        }
        await().atMost(WAIT).until(() -> inB.count.get() == 1000);
        long wire = b.wireFramesReceived("a") - before;
        System.out.println("transport coalescing: 1000 frames in one burst arrived in " + wire + " wire frames");
        // typically 1-15; when the I/O thread is scheduled in the middle of the burst it writes what
        // is queued so far (a CI run saw 105), so the bound only rules out one wire frame per frame
        assertThat(wire).as("coalesced: at most one wire frame per two frames, never one per frame").isBetween(1L, 500L);
    }

    @Test
    void aLoneUrgentRecordIsWrittenByItsSenderAndOrderIsKept() {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        TcpPeerTransport a = nodes.start("a");
        Inbox inB = new Inbox();
        b.register("t", inB);
        awaitConnected(a, "b");
        // request/response traffic (a Raft append, then its answer): each record goes alone
        for (int i = 0; i < 20; i++) {
            int n = i + 1;
            assertThat(a.sendUrgent("b", "t", intPayload(i, 8))).isTrue();
            await().atMost(WAIT).until(() -> inB.of("a", "t").size() == n);
        }
        // then a burst mixing the sender's own writes with the I/O thread's
        for (int i = 20; i < 520; i++) {
            assertThat(i % 2 == 0 ? a.sendUrgent("b", "t", intPayload(i, 8)) : a.send("b", "t", intPayload(i, 8))).isTrue();
        }
        await().atMost(WAIT).until(() -> inB.of("a", "t").size() == 520);
        assertThat(inB.of("a", "t")).isEqualTo(range(520));
        long bySender = a.wireFramesSentBySender("b");
        System.out.println("transport: " + bySender + " of " + status(a, "b").framesSent() + " records written by their sender");
        assertThat(bySender).as("lone records skip the I/O thread").isPositive();
    }

    @Test
    void aFailingHandlerDoesNotStopDelivery() {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b");
        TcpPeerTransport a = nodes.start("a");
        Inbox inB = new Inbox();
        b.register("bad", (from, topic, payload) -> {
            throw new IllegalStateException("handler bug (expected by the test)");
        });
        b.register("good", inB);
        awaitConnected(a, "b");
        for (int i = 0; i < 10; i++) {
            assertThat(a.send("b", "bad", intPayload(i, 4))).isTrue();
            assertThat(a.send("b", "good", intPayload(i, 4))).isTrue();
        }
        await().atMost(WAIT).until(() -> inB.of("a", "good").size() == 10);
        assertThat(inB.of("a", "good")).isEqualTo(range(10));
        assertThat(connected(a, "b")).isTrue();
        assertThat(a.connects("b")).isEqualTo(1);
    }

    @Test
    void withoutSecretTheTransportRefusesToPeer() {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport a = nodes.start("a", new Cfg().secret(""));
        assertThat(a.localPort()).isEqualTo(-1);
        assertThat(a.send("b", "t", intPayload(1, 4))).isFalse();
        assertThat(status(a, "b").lastError()).contains("no cluster secret");
        assertThat(status(a, "b").connected()).isFalse();
        TcpPeerTransport single = new TestNodes("solo").start("solo", new Cfg().secret(""));
        assertThat(single.peers()).isEmpty();
        single.deactivate();
    }

    @Test
    void aFrameThatCanNeverFitIsACallerError() {
        nodes = new TestNodes("a", "b");
        TcpPeerTransport b = nodes.start("b", new Cfg().maxFrame(8192));
        TcpPeerTransport a = nodes.start("a", new Cfg().maxFrame(8192));
        awaitConnected(a, "b");
        assertThatThrownBy(() -> a.send("b", "t", ByteBuffer.allocate(8192)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max.frame.bytes=8192");
        assertThat(a.send("b", "t", ByteBuffer.allocate(8000))).isTrue();
    }
}
