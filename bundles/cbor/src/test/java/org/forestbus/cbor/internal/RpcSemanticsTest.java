package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.forestbus.cbor.internal.RpcTestClient.Response;
import org.junit.jupiter.api.Test;

/** Method semantics (FORESTBUS-SPEC §6.3, §2.6) through a real socket, decoded generically. */
class RpcSemanticsTest extends ServerTestSupport {

    static Map<String, Object> recvArgs(String topic, long id, long quantity, boolean wait) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("ClusterID", "c1");
        a.put("Topic", topic);
        a.put("ID", id);
        a.put("Quantity", quantity);
        a.put("WaitForMessages", wait);
        return a;
    }

    static Map<String, Object> sendArgs(String topic, boolean wait, String... msgs) {
        List<byte[]> l = new ArrayList<>();
        for (String m : msgs) {
            l.add(m.getBytes());
        }
        return Map.of("Topic", topic, "SentMessages", l, "WaitForCommit", wait);
    }

    static List<String> payloads(Response r) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode m : r.body().get("ReceivedMessages")) {
            assertThat(m.isBinary()).as("payloads are byte strings").isTrue();
            out.add(new String(m.binaryValue()));
        }
        return out;
    }

    @Test
    void unknownTopicIsCode2ForEveryTopicMethod() throws Exception {
        start();
        try (RpcTestClient c = connect()) {
            Response s = c.call(SEND, 1, sendArgs("nope", true, "x"));
            assertThat(s.error()).isEmpty();
            assertThat(s.code()).isEqualTo(2);
            assertThat(s.body().get("IDs").isNull()).isTrue();
            Response r = c.call(RECV, 2, recvArgs("nope", 9, 1, false));
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.body().get("NextID").asLong()).isEqualTo(9);
            assertThat(r.body().get("ReceivedMessages").isNull()).isTrue();
            Response d = c.call(GTD, 3, Map.of("Topic", "nope"));
            assertThat(d.code()).isEqualTo(2);
            assertThat(d.body().get("Result").get("Description").asText())
                    .isEqualTo("Provided Topic ID (nope) was not found on node (localhost:3000).");
        }
    }

    @Test
    void sendThenReceiveCommittedMessagesWithNextId() throws Exception {
        start();
        registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect()) {
            Response s = c.call(SEND, 1, sendArgs("t", true, "a", "b", "c"));
            assertThat(s.code()).isZero();
            assertThat(s.body().get("IDs").toString()).isEqualTo("[1,2,3]");
            Response r = c.call(RECV, 2, recvArgs("t", 2, 10, false));
            assertThat(payloads(r)).containsExactly("b", "c");
            assertThat(r.body().get("NextID").asLong()).isEqualTo(4);
        }
    }

    @Test
    void receiveReturnsOnlyCommittedMessages() throws Exception {
        start();
        registry.add(new FakeTopic("t").autoCommit(false).fill(5).commit(3));
        try (RpcTestClient c = connect()) {
            Response r = c.call(RECV, 1, recvArgs("t", 1, 100, false));
            assertThat(payloads(r)).containsExactly("m1", "m2", "m3");
            assertThat(r.body().get("NextID").asLong()).isEqualTo(4);
        }
    }

    @Test
    void emptyPollIsNullWithNextIdEqualToIdOrZeroWhileTheCommitIndexIsZero() throws Exception {
        start();
        registry.add(new FakeTopic("t").autoCommit(false).fill(2).commit(2));
        registry.add(new FakeTopic("restarted").autoCommit(false).fill(2)); // commit index 0
        try (RpcTestClient c = connect()) {
            Response r = c.call(RECV, 1, recvArgs("t", 3, 10, false));
            assertThat(r.code()).isZero();
            assertThat(r.body().get("ReceivedMessages").isNull()).isTrue();
            assertThat(r.body().get("NextID").asLong()).isEqualTo(3);
            Response z = c.call(RECV, 2, recvArgs("restarted", 1, 10, false));
            assertThat(z.body().get("ReceivedMessages").isNull()).isTrue();
            assertThat(z.body().get("NextID").asLong()).isZero();
        }
    }

    @Test
    void idBelowTheFirstIndexAnswersAnEmptyListAndTheFirstIndex() throws Exception {
        start();
        registry.add(new FakeTopic("t").firstIndex(5).fill(3).commit(7));
        try (RpcTestClient c = connect()) {
            for (long id : new long[] {-1, 0, 1, 4}) {
                Response r = c.call(RECV, 1, recvArgs("t", id, 10, false));
                assertThat(r.body().get("ReceivedMessages").isArray()).as("id %d", id).isTrue();
                assertThat(r.body().get("ReceivedMessages")).as("id %d", id).isEmpty();
                assertThat(r.body().get("NextID").asLong()).as("id %d", id).isEqualTo(5);
            }
            Response r = c.call(RECV, 2, recvArgs("t", 5, 10, false));
            assertThat(payloads(r)).containsExactly("m5", "m6", "m7");
        }
    }

    @Test
    void quantityIsClampedToOneAndToTheConfiguredMaximum() throws Exception {
        start(new TestConfig().maxReadMessages(3));
        registry.add(new FakeTopic("t").fill(10).commit(10));
        try (RpcTestClient c = connect()) {
            assertThat(payloads(c.call(RECV, 1, recvArgs("t", 1, 0, false)))).containsExactly("m1");
            assertThat(payloads(c.call(RECV, 2, recvArgs("t", 1, -7, false)))).containsExactly("m1");
            Response r = c.call(RECV, 3, recvArgs("t", 2, 1000, false));
            assertThat(payloads(r)).containsExactly("m2", "m3", "m4");
            assertThat(r.body().get("NextID").asLong()).isEqualTo(5);
        }
    }

    @Test
    void longPollExpiresAsAnEmptyPollAfterMaxWait() throws Exception {
        start(new TestConfig().maxWaitMs(150));
        registry.add(new FakeTopic("t").fill(1).commit(1));
        try (RpcTestClient c = connect()) {
            long t0 = System.nanoTime();
            Response r = c.call(RECV, 1, recvArgs("t", 2, 10, true));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(r.body().get("ReceivedMessages").isNull()).isTrue();
            assertThat(r.body().get("NextID").asLong()).isEqualTo(2);
            assertThat(ms).isGreaterThanOrEqualTo(140);
        }
    }

    @Test
    void notLeaderWithNoKnownLeaderHasEmptyExtra1() throws Exception {
        start();
        registry.add(new FakeTopic("t").follower(null));
        try (RpcTestClient c = connect()) {
            Response r = c.call(SEND, 1, sendArgs("t", false, "x"));
            assertThat(r.code()).isEqualTo(4);
            assertThat(r.body().get("Result").get("Extra1").asText()).isEmpty();
            assertThat(r.body().get("IDs").isNull()).isTrue();
        }
    }

    @Test
    void followerStillServesReads() throws Exception {
        start();
        registry.add(new FakeTopic("t").fill(2).commit(2).follower("node-b"));
        try (RpcTestClient c = connect()) {
            assertThat(payloads(c.call(RECV, 1, recvArgs("t", 1, 10, false)))).containsExactly("m1", "m2");
        }
    }

    @Test
    void shuttingDownTopicAnswersCode5() throws Exception {
        start();
        registry.add(new FakeTopic("t").fill(1).commit(1).shutDown());
        try (RpcTestClient c = connect()) {
            Response r = c.call(RECV, 1, recvArgs("t", 4, 10, false));
            assertThat(r.code()).isEqualTo(5);
            assertThat(r.body().get("NextID").asLong()).isEqualTo(4);
            assertThat(c.call(SEND, 2, sendArgs("t", true, "x")).code()).isEqualTo(5);
            Response d = c.call(GTD, 3, Map.of("Topic", "t"));
            assertThat(d.code()).isEqualTo(5);
            assertThat(d.body().get("Result").get("Description").asText()).isEqualTo("Node (localhost:3000) is shutting down.");
        }
    }

    @Test
    void pollReleasedByShutdownAnswersCode5() throws Exception {
        start();
        FakeTopic t = registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect()) {
            c.send(RECV, 1, recvArgs("t", 1, 10, true));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> t.pendingPolls() == 1);
            t.shutDown();
            assertThat(c.read().code()).isEqualTo(5);
        }
    }

    @Test
    void emptySendAndUndecodableArgumentsAreRpcErrorsAndTheConnectionGoesOn() throws Exception {
        start();
        registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect()) {
            Response e = c.call(SEND, 1, Map.of("Topic", "t", "SentMessages", List.of(), "WaitForCommit", true));
            assertThat(e.error()).isEqualTo("no messages");
            assertThat(e.body().isObject() && e.body().isEmpty()).isTrue();
            Response bad = c.call(RECV, 2, Map.of("Topic", "t", "ID", "one", "Quantity", "x"));
            assertThat(bad.error()).startsWith("rpc: cannot decode arguments of RPCHandler.ReceiveMessages");
            Response ok = c.call(GTD, 3, Map.of("Topic", "t"));
            assertThat(ok.error()).isEmpty();
            assertThat(ok.seq()).isEqualTo(3);
            assertThat(ok.body().get("FirstIndex").asLong()).isEqualTo(1);
        }
    }

    @Test
    void aSendWithMoreMessagesThanTheLimitIsAnRpcErrorStoresNothingAndTheConnectionGoesOn() throws Exception {
        start(new TestConfig().maxMessagesPerRequest(3));
        FakeTopic t = registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect()) {
            List<byte[]> four = List.of(new byte[0], new byte[1], new byte[2], new byte[3]);
            Response tooMany = c.call(SEND, 1, Map.of("Topic", "t", "SentMessages", four, "WaitForCommit", true));
            assertThat(tooMany.error()).isEqualTo("rpc: cannot decode arguments of RPCHandler.SendMessages: "
                    + "more than 3 messages in one request (max.messages.per.request): 4");
            assertThat(t.messages()).isEmpty();
            Response ok = c.call(SEND, 2, Map.of("Topic", "t", "SentMessages", four.subList(0, 3), "WaitForCommit", true));
            assertThat(ok.error()).isEmpty();
            assertThat(ok.seq()).isEqualTo(2);
            assertThat(t.messages()).hasSize(3);
        }
    }

    @Test
    void topicDetailsAndClusterDetails() throws Exception {
        start();
        registry.add(new FakeTopic("b").fill(4).commit(2));
        registry.add(new FakeTopic("a"));
        try (RpcTestClient c = connect()) {
            Response d = c.call(GTD, 1, Map.of("Topic", "b"));
            assertThat(d.body().get("FirstIndex").asLong()).isEqualTo(1);
            assertThat(d.body().get("LastIndex").asLong()).isEqualTo(4);
            assertThat(d.body().get("CommitIndex").asLong()).isEqualTo(2);
            Response fresh = c.call(GTD, 2, Map.of("Topic", "a"));
            assertThat(fresh.body().get("LastIndex").asLong()).isZero();
            Response cd = c.call(GCD, 3, Map.of());
            assertThat(cd.body().get("ClusterID").asText()).isEqualTo("c1");
            assertThat(cd.body().get("Peers").toString()).isEqualTo("[\"localhost:3000\",\"node-b\"]");
            assertThat(cd.body().get("Topics").toString()).isEqualTo("[\"a\",\"b\"]");
        }
    }
}
