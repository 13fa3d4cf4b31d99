package org.forestbus.raft.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.annotation.Annotation;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStoreFactory;
import org.forestbus.commitlog.internal.DiskLogStoreFactory;
import org.forestbus.commitlog.internal.DiskStorageConfig;
import org.forestbus.raft.core.RaftConfig;
import org.forestbus.transport.internal.TcpPeerTransport;
import org.forestbus.transport.internal.TransportConfig;
import org.forestbus.transport.internal.proxy.FaultProxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes in one JVM with everything real but the process boundary: disk logs
 * ({@link DiskLogStoreFactory}, fsync), TCP peer transports with the cluster handshake, and a
 * {@link FaultProxy} on every directed link (the dialing side of each pair reaches its peer
 * through it), so a node can be partitioned away.
 */
class TcpClusterTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static final List<String> NAMES = List.of("n1", "n2", "n3");

    @TempDir
    Path dir;

    final long seed = new SplittableRandom().nextLong();
    final TopicRuntime runtime = new TopicRuntime();
    final Map<String, TcpPeerTransport> transports = new HashMap<>();
    final Map<String, LogStoreFactory> storage = new HashMap<>();
    final Map<String, RaftNetwork> networks = new HashMap<>();
    /** (dialer, acceptor) → proxy; the node whose name sorts first dials. */
    final Map<String, FaultProxy> links = new LinkedHashMap<>();
    final Map<String, Map<String, RaftTopic>> topics = new HashMap<>();
    final Map<String, NodeInfo> nodeInfos = new HashMap<>();

    @AfterEach
    void stop() {
        topics.values().forEach(m -> m.values().forEach(RaftTopic::close));
        transports.values().forEach(TcpPeerTransport::deactivate);
        links.values().forEach(FaultProxy::close);
        runtime.close();
    }

    void startNodes() throws Exception {
        Map<String, Integer> ports = new HashMap<>();
        for (String self : List.of("n3", "n2", "n1")) { // acceptors first: a dialer needs its peers' proxies
            Map<String, String> addresses = new HashMap<>();
            for (String peer : NAMES) {
                if (self.compareTo(peer) < 0) {
                    FaultProxy p = FaultProxy.start(ports.get(peer), seed);
                    links.put(self + ">" + peer, p);
                    addresses.put(peer, p.address());
                } else if (!peer.equals(self)) {
                    addresses.put(peer, "127.0.0.1:" + ports.get(peer));
                }
            }
            NodeInfo node = nodeInfo(self, addresses);
            TcpPeerTransport t = new TcpPeerTransport(node, transportConfig(0));
            nodeInfos.put(self, node);
            ports.put(self, t.localPort());
            transports.put(self, t);
            RaftNetwork net = new RaftNetwork();
            net.bindTransport(t);
            networks.put(self, net);
            storage.put(self, new DiskLogStoreFactory(storageConfig(dir.resolve(self))));
            topics.put(self, new HashMap<>());
        }
    }

    RaftTopic openTopic(String node, String name) {
        RaftTopic t = new RaftTopic(name, node, NAMES, storage.get(node).open(name, LogConfig.defaults()),
                networks.get(node), runtime, TopicRuntime.RAFT_CONFIG, new SplittableRandom(seed ^ (node + name).hashCode()), 0);
        topics.get(node).put(name, t);
        return t;
    }

    String awaitLeader(String topic, String notNode) {
        return await("a leader of " + topic + " other than " + notNode + " (seed " + seed + ")").atMost(WAIT)
                .until(() -> {
                    for (String n : NAMES) {
                        RaftTopic t = topics.get(n).get(topic);
                        if (!n.equals(notNode) && t.status().role() == Role.LEADER) {
                            return n;
                        }
                    }
                    return null;
                }, l -> l != null);
    }

    void isolate(String node) {
        links.forEach((k, p) -> {
            if (k.startsWith(node + ">") || k.endsWith(">" + node)) {
                p.blackhole();
            }
        });
    }

    void heal() {
        links.values().forEach(FaultProxy::pass);
    }

    static MessageBatch batch(String prefix, int n) {
        return MessageBatch.of(IntStream.range(0, n).mapToObj(i -> (prefix + "-" + i).getBytes(UTF_8)).toList());
    }

    static Map<Long, String> read(RaftTopic t, long last) throws Exception {
        Map<Long, String> out = new HashMap<>();
        long next = 1;
        while (next <= last) {
            ReadResult r = t.read(next, 500, 1 << 20, 5_000).get(10, TimeUnit.SECONDS);
            if (r.messages().count() == 0) {
                break;
            }
            long id = r.firstIndex();
            for (byte[] p : r.messages().payloadArrays()) {
                out.put(id++, new String(p, UTF_8));
            }
            next = r.nextIndex();
        }
        return out;
    }

    @Test
    void partitionedLeaderStopsAcknowledgingAndRejoinsWithItsTailTruncated() throws Exception {
        startNodes();
        NAMES.forEach(n -> openTopic(n, "t"));
        String old = awaitLeader("t", null);
        Map<Long, String> acked = new LinkedHashMap<>();
        for (int b = 0; b < 10; b++) {
            ack(acked, topics.get(old).get("t").send(batch("before" + b, 20), true), "before" + b);
        }

        long t0 = System.nanoTime();
        isolate(old);
        RaftTopic cut = topics.get(old).get("t");
        CompletableFuture<long[]> committedWrite = cut.send(batch("lost", 20), true);
        CompletableFuture<long[]> localWrite = cut.send(batch("local", 20), false);
        String next = awaitLeader("t", old);
        Map<Long, String> after = new LinkedHashMap<>();
        for (int b = 0; b < 10; b++) {
            ack(after, topics.get(next).get("t").send(batch("after" + b, 20), true), "after" + b);
        }
        long failoverMs = (System.nanoTime() - t0) / 1_000_000;
        acked.putAll(after);
        // the isolated leader stepped down (CheckQuorum) and never acknowledged a committed write
        await("old leader steps down").atMost(WAIT).until(() -> cut.status().role() != Role.LEADER);
        int oldLeaderCommittedAcks = committedWrite.handle((ids, err) -> err == null ? 1 : 0).get(30, TimeUnit.SECONDS);
        assertThat(oldLeaderCommittedAcks).as("committed acks from a partitioned leader (seed " + seed + ")").isZero();

        heal();
        long last = acked.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
        for (String n : NAMES) {
            RaftTopic t = topics.get(n).get("t");
            await(n + " catches up (seed " + seed + ")").atMost(WAIT).until(() -> t.status().commitIndex() >= last);
            Map<Long, String> seen = read(t, last);
            acked.forEach((id, text) -> assertThat(seen.get(id)).as(n + " index " + id + " (seed " + seed + ")").isEqualTo(text));
            assertThat(seen.values()).as("the partitioned leader's uncommitted tail is gone").noneMatch(s -> s.startsWith("lost-"));
        }
        boolean localAcked = localWrite.handle((ids, err) -> err == null).get(30, TimeUnit.SECONDS);
        System.out.println("reliability: partition leader_isolated=" + old + " failover_ms=" + failoverMs + " acked="
                + acked.size() + " lost=0 committed_acks_from_isolated_leader=" + oldLeaderCommittedAcks
                + " durable_only_ack_truncated=" + localAcked + " seed=" + seed);
    }

    @Test
    void restartingEveryTransportKeepsTopicsAndAcknowledgedData() throws Exception {
        startNodes();
        NAMES.forEach(n -> openTopic(n, "t"));
        String leader = awaitLeader("t", null);
        Map<Long, String> acked = new LinkedHashMap<>();
        for (int b = 0; b < 5; b++) {
            ack(acked, topics.get(leader).get("t").send(batch("before" + b, 10), true), "before" + b);
        }
        // what bundle:restart of the transport does: the old service goes, a new one on the same port comes
        for (String n : NAMES) {
            TcpPeerTransport old = transports.get(n);
            int port = old.localPort();
            networks.get(n).unbindTransport(old);
            old.deactivate();
            TcpPeerTransport fresh = new TcpPeerTransport(nodeInfos.get(n), transportConfig(port));
            transports.put(n, fresh);
            networks.get(n).bindTransport(fresh);
        }
        for (int b = 0; b < 5; b++) {
            String now = awaitLeader("t", null);
            ack(acked, topics.get(now).get("t").send(batch("after" + b, 10), true), "after" + b);
        }
        long last = acked.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
        for (String n : NAMES) {
            RaftTopic t = topics.get(n).get("t");
            await(n + " catches up after transport restart (seed " + seed + ")").atMost(WAIT)
                    .until(() -> t.status().commitIndex() >= last);
            Map<Long, String> seen = read(t, last);
            acked.forEach((id, text) -> assertThat(seen.get(id)).as(n + " index " + id).isEqualTo(text));
        }
        System.out.println("reliability: transport restart nodes=3 acked=" + acked.size() + " lost=0 seed=" + seed);
    }

    private static void ack(Map<Long, String> acked, CompletableFuture<long[]> f, String prefix) throws Exception {
        long[] ids = f.get(30, TimeUnit.SECONDS);
        for (int i = 0; i < ids.length; i++) {
            acked.put(ids[i], prefix + "-" + i);
        }
    }

    @Test
    void thousandIdleTopicsOnThreeNodesCostLittleCpu() throws Exception {
        startNodes();
        int n = Integer.getInteger("idle.topics", 1000);
        for (int i = 0; i < n; i++) {
            for (String node : NAMES) {
                openTopic(node, "idle-" + i);
            }
        }
        await("every topic has a leader (seed " + seed + ")").atMost(Duration.ofMinutes(3)).until(() -> {
            for (int i = 0; i < n; i++) {
                String name = "idle-" + i;
                if (NAMES.stream().noneMatch(node -> topics.get(node).get(name).status().role() == Role.LEADER)) {
                    return false;
                }
            }
            return true;
        });
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();
        // measure a quiet period: the await only bounds it
        await().pollDelay(Duration.ofSeconds(10)).atMost(Duration.ofSeconds(11)).until(() -> true);
        double cpuPercentOfOneCore = 100.0 * (os.getProcessCpuTime() - cpu0) / (System.nanoTime() - wall0);
        double perNode = cpuPercentOfOneCore / NAMES.size();
        System.out.printf("reliability: idle topics=%d nodes=3 cpu_percent_of_one_core_per_node=%.1f (whole JVM %.1f)%n", n,
                perNode, cpuPercentOfOneCore);
        int leaders = 0;
        for (int i = 0; i < n; i++) {
            String name = "idle-" + i;
            leaders += (int) NAMES.stream().filter(node -> topics.get(node).get(name).status().role() == Role.LEADER).count();
        }
        assertThat(leaders).as("one leader per topic after the quiet period").isEqualTo(n);
        assertThat(perNode).as("generous bound; the figure is what matters").isLessThan(100.0);
    }

    static NodeInfo nodeInfo(String self, Map<String, String> addresses) {
        return new NodeInfo() {
            public String clusterId() {
                return "test-cluster";
            }

            public String nodeName() {
                return self;
            }

            public List<Peer> peers() {
                List<Peer> out = new ArrayList<>();
                for (String n : NAMES) {
                    out.add(new Peer(n, n.equals(self) ? "" : addresses.get(n), "", ""));
                }
                return out;
            }
        };
    }

    static TransportConfig transportConfig(int port) {
        return new TransportConfig() {
            public Class<? extends Annotation> annotationType() { return TransportConfig.class; }
            public String host() { return "127.0.0.1"; }
            public int port() { return port; }
            public String _secret() { return "s3cret-for-tests"; }
            public int max_frame_bytes() { return 64 << 20; }
            public long queue_bytes_per_peer() { return 64L << 20; }
            public long queue_bytes_total() { return 64L << 20; }
            public long reconnect_min_ms() { return 50; }
            public long reconnect_max_ms() { return 500; }
            public long connect_timeout_ms() { return 2000; }
            public long handshake_timeout_ms() { return 2000; }
            public long idle_timeout_ms() { return 1000; }
        };
    }

    static DiskStorageConfig storageConfig(Path dir) {
        return new DiskStorageConfig() {
            public Class<? extends Annotation> annotationType() { return DiskStorageConfig.class; }
            public String data_dir() { return dir.toString(); }
            public String sync_policy() { return "fsync"; }
            public long sync_interval_ms() { return 1000; }
        };
    }
}
