package org.forestbus.itests;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Three real node processes started with {@code bin/forestbus-cluster start 3 DIR} (ports shifted
 * by a free offset): 40 batches of 50 messages written with waitForCommit through any node,
 * following 421 hints; the leader killed with kill -9 halfway; the killed node restarted; every
 * acknowledged message read back identically from all three nodes.
 */
public class ClusterIT {

    private static final Duration BOOT = Duration.ofSeconds(180);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private final SplittableRandom random = new SplittableRandom();
    private Path script;
    private Path dir;
    private int offset;

    @Before
    public void setUp() throws IOException {
        script = Paths.get("../karaf-distribution/target/assembly/bin/forestbus-cluster").toAbsolutePath().normalize();
        assertTrue("build karaf-distribution first: " + script, Files.isExecutable(script));
        dir = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "cluster-");
        offset = freeOffset();
    }

    @After
    public void tearDown() throws Exception {
        cluster("stop");
    }

    @Test
    public void leaderKillDuringWritesLosesNoAcknowledgedMessage() throws Exception {
        assertEquals(0, cluster("start"));
        for (int i = 1; i <= 3; i++) {
            awaitLeaderSeenBy(i);
        }
        Map<Long, String> acked = new LinkedHashMap<>();
        long failoverMillis = -1;
        int killed = -1;
        for (int batch = 0; batch < 40; batch++) {
            if (batch == 20) {
                killed = leaderNode();
                long pid = Long.parseLong(Files.readString(dir.resolve("node" + killed + "/pid")).trim());
                long t0 = System.nanoTime(); // failover = from the kill to the next acknowledged write
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());
                List<String> texts = texts(batch);
                write(texts, acked, killed);
                failoverMillis = (System.nanoTime() - t0) / 1_000_000;
                continue;
            }
            write(texts(batch), acked, killed);
        }
        assertEquals(2000, acked.size());

        assertEquals(0, cluster("start")); // restarts only the killed node
        long last = acked.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
        for (int node = 1; node <= 3; node++) {
            Map<Long, String> seen = walk(node, last);
            for (Map.Entry<Long, String> e : acked.entrySet()) {
                assertEquals("node" + node + " index " + e.getKey(), e.getValue(), seen.get(e.getKey()));
            }
        }
        System.out.println("reliability: cluster nodes=3 batches=40x50 leader_killed=node" + killed + " failover_ms="
                + failoverMillis + " acked=" + acked.size() + " lost=0 read_back_nodes=3");
    }

    private static List<String> texts(int batch) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            out.add("b" + batch + "-m" + i);
        }
        return out;
    }

    /** Sends one batch with waitForCommit until a node acknowledges it, following 421 hints. */
    private void write(List<String> texts, Map<Long, String> acked, int avoid) throws Exception {
        StringBuilder json = new StringBuilder("{\"waitForCommit\":true,\"messages\":[");
        for (int i = 0; i < texts.size(); i++) {
            json.append(i == 0 ? "" : ",").append('"').append(texts.get(i)).append('"');
        }
        json.append("]}");
        int node = 1 + random.nextInt(3);
        long deadline = System.nanoTime() + BOOT.toNanos();
        while (System.nanoTime() < deadline) {
            if (node == avoid) {
                node = node % 3 + 1;
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(url(node, "/topics/default/messages"))
                        .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(json.toString())).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    Matcher m = Pattern.compile("\\d+").matcher(r.body());
                    int i = 0;
                    while (m.find()) {
                        acked.put(Long.parseLong(m.group()), texts.get(i++));
                    }
                    assertEquals(texts.size(), i);
                    return;
                }
                Matcher leader = Pattern.compile("\"leader\":\"[^\"]*:(\\d+)\"").matcher(r.body());
                if (r.statusCode() == 421 && leader.find()) {
                    int hinted = Integer.parseInt(leader.group(1)) - (8000 + offset) + 1;
                    if (hinted != avoid) {
                        node = hinted;
                        continue;
                    }
                    awaitLeaderSeenBy(node, avoid); // the hint names the dead leader: wait for the election
                    continue;
                }
            } catch (IOException timeoutOrRefused) {
                // try another node
            }
            node = node % 3 + 1;
            if (node != avoid) {
                awaitLeaderSeenBy(node, avoid); // paces retries: the next node must know a live leader
            }
        }
        throw new AssertionError("no node acknowledged a batch within " + BOOT);
    }

    /** The leader every node agrees on (waits for agreement, so a deposed leader is never picked). */
    private int leaderNode() {
        return await("all nodes agree on a leader; logs in " + dir).atMost(BOOT).pollInterval(Duration.ofMillis(100))
                .ignoreExceptions().until(() -> {
                    String agreed = null;
                    for (int i = 1; i <= 3; i++) {
                        Matcher m = Pattern.compile("\"leader\":\"node(\\d)\"").matcher(get(i, "/topics/default").body());
                        if (!m.find() || (agreed != null && !agreed.equals(m.group(1)))) {
                            return -1;
                        }
                        agreed = m.group(1);
                    }
                    int leader = Integer.parseInt(agreed);
                    return get(leader, "/topics/default").body().contains("\"role\":\"leader\"") ? leader : -1;
                }, l -> l > 0);
    }

    private void awaitLeaderSeenBy(int node) {
        awaitLeaderSeenBy(node, -1);
    }

    /** Waits until {@code node} serves and names a leader other than {@code notNode}. */
    private void awaitLeaderSeenBy(int node, int notNode) {
        await("node" + node + " sees a leader; logs in " + dir).atMost(BOOT).pollInterval(Duration.ofMillis(200))
                .ignoreExceptions().until(() -> {
                    String body = get(node, "/topics/default").body();
                    return body.matches(".*\"leader\":\"node\\d\".*") && !body.contains("\"leader\":\"node" + notNode + "\"");
                });
    }

    /** Reads node's committed messages 1..last (waiting for it to catch up). */
    private Map<Long, String> walk(int node, long last) throws Exception {
        Map<Long, String> out = new HashMap<>();
        long next = 1;
        long deadline = System.nanoTime() + BOOT.toNanos();
        while (next <= last && System.nanoTime() < deadline) {
            awaitLeaderSeenBy(node);
            HttpResponse<String> r = get(node, "/topics/default/messages?max=500&wait=1000&from=" + next);
            Matcher m = Pattern.compile("\\{\"id\":(\\d+),\"data\":\"([^\"]*)\"\\}").matcher(r.body());
            while (m.find()) {
                out.put(Long.parseLong(m.group(1)), m.group(2));
                next = Long.parseLong(m.group(1)) + 1;
            }
        }
        assertTrue("node" + node + " reached index " + last + " (at " + next + ")", next > last);
        return out;
    }

    private HttpResponse<String> get(int node, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(url(node, path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private URI url(int node, String path) {
        return URI.create("http://127.0.0.1:" + (8000 + offset + node - 1) + path);
    }

    private int cluster(String command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(script.toString(), command, "3", dir.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("cluster.log").toFile()));
        pb.environment().put("FORESTBUS_PORT_OFFSET", String.valueOf(offset));
        Process p = pb.start();
        assertTrue(command + " finished", p.waitFor(120, TimeUnit.SECONDS));
        return p.exitValue();
    }

    /** An offset at which the 3 nodes' peer, CBOR, HTTP and SSH ports are all free. */
    private int freeOffset() {
        for (int attempt = 0; attempt < 50; attempt++) {
            // every port stays below Linux's ephemeral range (32768+), where outgoing connections
            // could take it between this check and the node's bind
            int off = 10000 + random.nextInt(14) * 1000 + random.nextInt(900);
            boolean free = true;
            for (int base : new int[] {3000, 5000, 8000, 8101}) {
                for (int i = 0; i < 3 && free; i++) {
                    try (ServerSocket s = new ServerSocket(base + off + i)) {
                        s.setReuseAddress(true);
                    } catch (IOException taken) {
                        free = false;
                    }
                }
            }
            if (free) {
                return off;
            }
        }
        throw new AssertionError("no free port range found");
    }
}
