package org.forestbus.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.forestbus.client.FakeServer.Answer;
import org.forestbus.client.ForestBusClientException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ForestBusClientTest {

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private FakeServer server(FakeServer.Handler h) throws Exception {
        FakeServer s = new FakeServer(h);
        toClose.add(s);
        return s;
    }

    private ForestBusClient client(ForestBusClient.Builder b) {
        ForestBusClient c = b.initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(100)).build();
        toClose.add(c);
        return c;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Throwable cause(CompletableFuture<?> f) {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("future succeeded");
    }

    private static Reason reason(Throwable e) {
        assertThat(e).isInstanceOf(ForestBusClientException.class);
        return ((ForestBusClientException) e).reason();
    }

    private static int parked(FakeTopic topic) {
        synchronized (topic) {
            return topic.parkedPolls.size();
        }
    }

    /** A send reply that also carries {@code padding} (a field the client ignores), to make replies large. */
    private static CompletableFuture<Answer> paddedSendResult(long id, byte[] padding) {
        return CompletableFuture.completedFuture(Answer.ok(g -> {
            g.writeStartObject(null, 3);
            g.writeFieldName("IDs");
            g.writeStartArray(null, 1);
            g.writeNumber(id);
            g.writeEndArray();
            g.writeFieldName("Padding");
            g.writeBinary(padding);
            FakeServer.result(g, 0, "");
            g.writeEndObject();
        }));
    }

    @Test
    void connectionStringParsesLikeTheOriginal() {
        assertThat(ConnectionString.parse("t1#t2@host:1010,otherhost:2020"))
                .isEqualTo(new ConnectionString("t1", "t2", List.of("host:1010", "otherhost:2020")));
        assertThat(ConnectionString.parse("#t1@host:1010,:2020")).isEqualTo(new ConnectionString("", "t1", List.of("host:1010", ":2020")));
        assertThat(ConnectionString.parse("t1@host:1010")).isEqualTo(new ConnectionString("t1", "", List.of("host:1010")));
        assertThat(ConnectionString.parse("@:1010")).isEqualTo(new ConnectionString("", "", List.of(":1010")));
        assertThat(ConnectionString.parse("no-at-sign")).isEqualTo(new ConnectionString("", "", List.of()));
    }

    @Test
    void answeredCallsLeaveNoTimeoutQueued() throws Exception {
        FakeServer s = server(call -> CompletableFuture.completedFuture(FakeServer.topicResult(0, 1, 1, 1)));
        ForestBusClient c = client(ForestBusClient.builder().nodes(s.address()).callTimeout(Duration.ofMinutes(5)));
        for (int i = 0; i < 500; i++) {
            c.topicDetails(null, "t").get(10, TimeUnit.SECONDS);
        }
        // each call scheduled a 5-minute timeout; an answered call must take its timeout out of
        // the timer's queue, not leave it there (on the heap, waking the timer) until it expires
        await().atMost(Duration.ofSeconds(10)).until(() -> c.queuedTimers() == 0);
    }

    @Test
    void pipelinedCallsOnOneConnectionAreMatchedBySeqWhenAnsweredOutOfOrder() throws Exception {
        List<CompletableFuture<Answer>> held = new ArrayList<>();
        List<String> topics = new ArrayList<>();
        FakeServer s = server(call -> {
            CompletableFuture<Answer> f = new CompletableFuture<>();
            synchronized (held) {
                held.add(f);
                topics.add(Wire.string(call.args(), "Topic"));
            }
            return f;
        });
        ForestBusClient c = client(ForestBusClient.builder().nodes(s.address()));
        List<CompletableFuture<TopicDetails>> results = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            results.add(c.topicDetails(null, "topic" + i));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> s.calls.size() == 5);
        synchronized (held) {
            for (int i = held.size() - 1; i >= 0; i--) { // answer last first
                long n = Long.parseLong(topics.get(i).substring(5));
                held.get(i).complete(FakeServer.topicResult(0, n, n * 10, n * 100));
            }
        }
        for (int i = 1; i <= 5; i++) {
            TopicDetails d = results.get(i - 1).get(10, TimeUnit.SECONDS);
            assertThat(d.topic()).isEqualTo("topic" + i);
            assertThat(d.commitIndex()).isEqualTo(i * 100L);
            assertThat(d.firstIndex()).isEqualTo(i);
        }
        assertThat(s.connections.get()).isEqualTo(1);
        assertThat(s.calls.stream().map(FakeServer.Call::seq).distinct().count()).isEqualTo(5);
    }

    @Test
    void sendCarriesPayloadsAndWaitFlagAndReturnsIds() throws Exception {
        FakeServer s = server(call -> {
            assertThat(call.method()).isEqualTo("SendMessages");
            List<?> msgs = (List<?>) call.args().get("SentMessages");
            assertThat((byte[]) msgs.get(0)).isEqualTo(new byte[] {0, 1, 2, (byte) 255});
            assertThat(call.args().get("WaitForCommit")).isEqualTo(Boolean.TRUE);
            assertThat(Wire.string(call.args(), "Topic")).isEqualTo("t");
            return FakeServer.sendResult(0, "", 41, 42);
        });
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address()));
        long[] ids = c.send(List.of(new byte[] {0, 1, 2, (byte) 255}, b("x")), true).get(10, TimeUnit.SECONDS);
        assertThat(ids).containsExactly(41, 42);
    }

    @Test
    void notLeaderRedirectsToTheLeaderNamedInExtra1AndRemembersIt() throws Exception {
        FakeServer leader = server(call -> FakeServer.sendResult(0, "", 7));
        FakeServer follower = server(call -> FakeServer.sendResult(4, leader.address()));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + follower.address()));
        assertThat(c.send(List.of(b("a")), true).get(10, TimeUnit.SECONDS)).containsExactly(7);
        assertThat(c.send(List.of(b("b")), true).get(10, TimeUnit.SECONDS)).containsExactly(7);
        assertThat(follower.count("SendMessages")).isEqualTo(1);
        assertThat(leader.count("SendMessages")).isEqualTo(2);
    }

    @Test
    void staleHintsPointingAtEachOtherBackOffAndFailWithNotLeader() throws Exception {
        FakeServer[] pair = new FakeServer[2];
        pair[0] = server(call -> FakeServer.sendResult(4, pair[1].address()));
        pair[1] = server(call -> FakeServer.sendResult(4, pair[0].address()));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + pair[0].address())
                .retryTimeout(Duration.ofMillis(300)));
        Throwable e = cause(c.send(List.of(b("a")), true));
        assertThat(((ForestBusClientException) e).reason()).isEqualTo(Reason.NOT_LEADER);
        long calls = pair[0].count("SendMessages") + pair[1].count("SendMessages");
        // 2 calls per round, backoffs 20, 40, 80, 100, 100 ms within 300 ms: about a dozen, never hundreds
        assertThat(calls).isBetween(4L, 20L);
    }

    @Test
    void notLeaderWithoutHintMovesToTheNextNode() throws Exception {
        FakeServer a = server(call -> FakeServer.sendResult(4, ""));
        FakeServer bNode = server(call -> FakeServer.sendResult(0, "", 3));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + a.address() + "," + bNode.address()));
        assertThat(c.send(List.of(b("a")), false).get(10, TimeUnit.SECONDS)).containsExactly(3);
        assertThat(a.count("SendMessages")).isEqualTo(1);
    }

    @Test
    void shuttingDownIsRetriedWithExponentialBackoff() throws Exception {
        AtomicInteger n = new AtomicInteger();
        FakeServer s = server(call -> n.incrementAndGet() <= 3 ? FakeServer.sendResult(5, "") : FakeServer.sendResult(0, "", 1));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address()));
        long t0 = System.nanoTime();
        assertThat(c.send(List.of(b("a")), true).get(10, TimeUnit.SECONDS)).containsExactly(1);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(n.get()).isEqualTo(4);
        assertThat(ms).as("backoffs 20 + 40 + 80 ms").isGreaterThanOrEqualTo(140);
    }

    @Test
    void retryBudgetExhaustedFailsWithTheLastReason() throws Exception {
        FakeServer s = server(call -> FakeServer.sendResult(5, ""));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address()).retryTimeout(Duration.ofMillis(200)));
        Throwable e = cause(c.send(List.of(b("a")), true));
        assertThat(e).isInstanceOf(ForestBusClientException.class);
        assertThat(((ForestBusClientException) e).reason()).isEqualTo(Reason.SHUTTING_DOWN);
        assertThat(s.count("SendMessages")).isGreaterThan(1);
    }

    @Test
    void connectionErrorsMoveOnAndBrokenConnectionsAreReopened() throws Exception {
        int deadPort;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = ss.getLocalPort();
        }
        AtomicInteger n = new AtomicInteger();
        FakeServer[] self = new FakeServer[1];
        FakeServer s = server(call -> {
            if (n.incrementAndGet() == 1) {
                self[0].dropConnections(); // break the connection under the first call
                return null;
            }
            return FakeServer.sendResult(0, "", 9);
        });
        self[0] = s;
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@127.0.0.1:" + deadPort + "," + s.address()));
        assertThat(c.send(List.of(b("a")), true).get(10, TimeUnit.SECONDS)).containsExactly(9);
        assertThat(s.connections.get()).isEqualTo(2);
    }

    @Test
    void callsTimeOutAndTheConnectionStaysUsable() throws Exception {
        FakeServer s = server(call -> call.method().equals("GetTopicDetails")
                ? CompletableFuture.completedFuture(FakeServer.topicResult(0, 1, 2, 2))
                : new CompletableFuture<>()); // sends are never answered
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address())
                .callTimeout(Duration.ofMillis(100)).retryTimeout(Duration.ofMillis(250)));
        Throwable e = cause(c.send(List.of(b("a")), true));
        assertThat(((ForestBusClientException) e).reason()).isEqualTo(Reason.TIMEOUT);
        assertThat(c.topicDetails().get(10, TimeUnit.SECONDS).commitIndex()).isEqualTo(2);
        assertThat(s.connections.get()).isEqualTo(1);
    }

    @Test
    void topicNotFoundAndClusterMismatchFailAtOnce() throws Exception {
        FakeServer s = server(call -> switch (call.method()) {
            case "GetClusterDetails" -> CompletableFuture.completedFuture(FakeServer.clusterResult("prod"));
            case "ReceiveMessages" -> CompletableFuture.completedFuture(FakeServer.receiveResult(2, 1, null, false));
            default -> FakeServer.sendResult(2, "");
        });
        ForestBusClient c = client(ForestBusClient.builder().connectionString("prod#nope@" + s.address()));
        assertThat(((ForestBusClientException) cause(c.send(List.of(b("a")), true))).reason()).isEqualTo(Reason.TOPIC_NOT_FOUND);
        assertThat(((ForestBusClientException) cause(c.receive(1, 10, false))).reason()).isEqualTo(Reason.TOPIC_NOT_FOUND);
        assertThat(s.count("SendMessages")).isEqualTo(1);
        ClusterDetails d = c.clusterDetails().get(10, TimeUnit.SECONDS);
        assertThat(d.clusterId()).isEqualTo("prod");
        assertThat(d.topics()).containsExactly("t");

        ForestBusClient wrong = client(ForestBusClient.builder().connectionString("test#nope@" + s.address()));
        assertThat(((ForestBusClientException) cause(wrong.send(List.of(b("a")), true))).reason())
                .isEqualTo(Reason.CLUSTER_ID_MISMATCH);
        assertThat(s.count("SendMessages")).isEqualTo(1);
    }

    @Test
    void rpcErrorFailsWithTheServersText() throws Exception {
        FakeServer s = server(call -> CompletableFuture.completedFuture(new Answer("rpc: can't find method X", null)));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address()));
        Throwable e = cause(c.topicDetails());
        assertThat(((ForestBusClientException) e).reason()).isEqualTo(Reason.RPC_ERROR);
        assertThat(e.getMessage()).contains("can't find method X");
    }

    @Test
    void readsAreSpreadOverNodesAndTolerateTextPayloads() throws Exception {
        FakeServer.Handler h = call -> CompletableFuture.completedFuture(
                FakeServer.receiveResult(0, Wire.number(call.args(), "ID") + 2, List.of(b("héllo"), b("x")), true));
        FakeServer a = server(h);
        FakeServer bNode = server(h);
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + a.address() + "," + bNode.address()));
        for (int i = 0; i < 4; i++) {
            Messages m = c.receive(5, 10, false).get(10, TimeUnit.SECONDS);
            assertThat(m.nextId()).isEqualTo(7);
            assertThat(m.payloads().get(0)).isEqualTo(b("héllo"));
        }
        assertThat(a.count("ReceiveMessages")).isEqualTo(2);
        assertThat(bNode.count("ReceiveMessages")).isEqualTo(2);
        Map<String, Object> args = a.calls.get(0).args();
        assertThat(args.get("Quantity")).isEqualTo(10L);
        assertThat(args.get("WaitForMessages")).isEqualTo(Boolean.FALSE);
    }

    @Test
    void closeFailsCallsInFlight() throws Exception {
        FakeServer s = server(call -> new CompletableFuture<>());
        ForestBusClient c = ForestBusClient.builder().connectionString("#t@" + s.address()).build();
        CompletableFuture<Messages> poll = c.receive(1, 1, true);
        await().atMost(Duration.ofSeconds(10)).until(() -> s.calls.size() == 1);
        c.close();
        Throwable e = cause(poll);
        assertThat(((ForestBusClientException) e).reason()).isIn(Reason.CONNECTION, Reason.CLOSED);
    }

    @Test
    void aLongPollBrokenAfterTheRetryTimeoutIsRetried() throws Exception {
        FakeTopic topic = new FakeTopic();
        FakeServer s = server(topic);
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address())
                .retryTimeout(Duration.ofMillis(200)).longPollTimeout(Duration.ofSeconds(30)));
        long t0 = System.nanoTime();
        CompletableFuture<Messages> poll = c.receive(1, 10, true);
        await().atMost(Duration.ofSeconds(10)).until(() -> parked(topic) == 1);
        // the poll outlives the retry budget (counted from its start), then the node restarts
        await().atMost(Duration.ofSeconds(10)).until(() -> System.nanoTime() - t0 > TimeUnit.MILLISECONDS.toNanos(400));
        s.dropConnections();
        await().atMost(Duration.ofSeconds(10)).until(() -> poll.isDone() || parked(topic) == 2);
        assertThat(poll).as("retried on a new connection").isNotDone();
        topic.append(List.of(b("m1")));
        Messages m = poll.get(10, TimeUnit.SECONDS);
        assertThat(m.payloads()).containsExactly(b("m1"));
        assertThat(s.connections.get()).isEqualTo(2);
    }

    @Test
    void aTimeoutMovesToTheNextNodeAlsoWhenRetryTimeoutEqualsCallTimeout() throws Exception {
        FakeServer silent = server(call -> null); // accepts and reads, never answers
        FakeServer healthy = server(call -> FakeServer.sendResult(0, "", 5));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + silent.address() + "," + healthy.address())
                .callTimeout(Duration.ofMillis(200)).retryTimeout(Duration.ofMillis(200))); // the defaults' ratio
        assertThat(c.send(List.of(b("a")), true).get(10, TimeUnit.SECONDS)).containsExactly(5);
        assertThat(silent.count("SendMessages")).isEqualTo(1);
    }

    @Test
    void largeCallsQueuedWhileTheConnectionOpensNeitherDeadlockNorBlockACaller() throws Exception {
        byte[] padding = new byte[4 << 20];
        CompletableFuture<Answer> check = new CompletableFuture<>();
        FakeServer s = server(call -> call.method().equals("GetClusterDetails") ? check : paddedSendResult(call.seq(), padding));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("c1#t@" + s.address()));
        byte[] big = new byte[2 << 20];
        // 80 MB of requests queued behind the cluster-ID check, 160 MB of replies: more than both
        // directions' socket buffers, so whoever writes the requests must not be the one reading the replies
        List<CompletableFuture<long[]>> sends = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            sends.add(c.send(List.of(big), false));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> s.count("GetClusterDetails") == 1);
        check.complete(FakeServer.clusterResult("c1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> s.count("SendMessages") >= 1);
        CompletableFuture<long[]> late = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> c.send(List.of(b("x")), false),
                "a caller never waits for another call's write");
        sends.add(late);
        for (CompletableFuture<long[]> f : sends) {
            assertThat(f.get(20, TimeUnit.SECONDS)).hasSize(1);
        }
        assertThat(s.connections.get()).isEqualTo(1);
    }

    @Test
    void sendsMadeFromReplyCallbacksComplete() throws Exception {
        byte[] padding = new byte[16 << 20];
        FakeServer s = server(call -> paddedSendResult(call.seq(), padding));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address()));
        // producers that send their next request from the previous reply's completion (on the
        // reader thread): the small requests are written by the reader itself, the 16 MB ones
        // (above RpcConnection.READER_WRITE_BYTES) by a worker; all complete, in order per producer.
        // (This exchange did not deadlock here even with the reader writing the 16 MB requests:
        // the bound rests on the socket buffers' sizes, not on this test.)
        List<CompletableFuture<Integer>> producers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            CompletableFuture<Integer> done = new CompletableFuture<>();
            producers.add(done);
            sendChain(c, i % 2 == 0 ? new byte[16 << 20] : b("small"), 0, 4, done);
        }
        for (CompletableFuture<Integer> p : producers) {
            assertThat(p.get(30, TimeUnit.SECONDS)).isEqualTo(4);
        }
        assertThat(s.connections.get()).isEqualTo(1);
    }

    private static void sendChain(ForestBusClient c, byte[] payload, int sent, int total, CompletableFuture<Integer> done) {
        c.send(List.of(payload), false).whenComplete((ids, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
            } else if (sent + 1 == total) {
                done.complete(total);
            } else {
                sendChain(c, payload, sent + 1, total, done);
            }
        });
    }

    @Test
    void aCallWhoseRequestCannotBeWrittenStillTimesOut() throws Exception {
        CompletableFuture<Answer> never = new CompletableFuture<>();
        FakeServer s = server(call -> {
            never.join(); // the server stops reading after the first request
            return null;
        });
        toClose.add(() -> never.complete(null));
        ForestBusClient c = client(ForestBusClient.builder().connectionString("#t@" + s.address())
                .callTimeout(Duration.ofMillis(300)).retryTimeout(Duration.ZERO));
        CompletableFuture<long[]> first = c.send(List.of(b("a")), false);
        await().atMost(Duration.ofSeconds(10)).until(() -> s.calls.size() == 1);
        // 32 MB do not fit into the socket buffers of a peer that does not read
        CompletableFuture<CompletableFuture<long[]>> second = CompletableFuture.supplyAsync(
                () -> c.send(List.of(new byte[32 << 20]), false));
        assertThat(reason(cause(first))).isEqualTo(Reason.TIMEOUT);
        assertThat(reason(cause(second.get(10, TimeUnit.SECONDS)))).isIn(Reason.TIMEOUT, Reason.CONNECTION);
    }

    @Test
    void callsFromOneThreadAreWrittenInOrderWhileAndAfterTheConnectionOpens() throws Exception {
        for (int round = 0; round < 10; round++) {
            FakeServer s = server(call -> call.method().equals("GetClusterDetails")
                    ? CompletableFuture.completedFuture(FakeServer.clusterResult("c1"))
                    : CompletableFuture.completedFuture(FakeServer.topicResult(0, 1, 1, 1)));
            ForestBusClient c = client(ForestBusClient.builder().connectionString("c1#t@" + s.address()));
            List<CompletableFuture<TopicDetails>> results = new ArrayList<>();
            int n = 0;
            // keep sending across the moment the connection becomes ready
            while (s.count("GetTopicDetails") == 0 && n < 100_000 || n % 100 != 0) {
                results.add(c.topicDetails(null, "t" + n++));
            }
            for (CompletableFuture<TopicDetails> f : results) {
                f.get(10, TimeUnit.SECONDS);
            }
            List<String> order = s.calls.stream().filter(call -> call.method().equals("GetTopicDetails"))
                    .map(call -> Wire.string(call.args(), "Topic")).toList();
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                expected.add("t" + i);
            }
            assertThat(order).as("round " + round).isEqualTo(expected);
        }
    }

    @Test
    void closeWhileTheClusterCheckIsUnansweredClosesTheSocket() throws Exception {
        FakeServer s = server(call -> null); // not even the cluster-ID check is answered
        ForestBusClient c = ForestBusClient.builder().connectionString("c1#t@" + s.address()).build();
        CompletableFuture<long[]> f = c.send(List.of(b("a")), true);
        await().atMost(Duration.ofSeconds(10)).until(() -> s.count("GetClusterDetails") == 1);
        c.close();
        assertThat(reason(cause(f))).isEqualTo(Reason.CLOSED);
        await().atMost(Duration.ofSeconds(10)).until(() -> s.closedConnections.get() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("forestbus-client-reader-" + s.address())));
    }
}
