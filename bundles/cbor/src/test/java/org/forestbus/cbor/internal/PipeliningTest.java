package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.forestbus.cbor.internal.RpcSemanticsTest.recvArgs;
import static org.forestbus.cbor.internal.RpcSemanticsTest.sendArgs;

import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.awaitility.Awaitility;
import org.forestbus.cbor.internal.RpcTestClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Pipelined traffic: replies in completion order, matched by Seq; the in-flight limit. */
class PipeliningTest extends ServerTestSupport {

    @Test
    void theInFlightLimitStopsReadingUntilAReplyIsWritten() throws Exception {
        start(new TestConfig().maxPending(2));
        FakeTopic t = registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect(); RpcTestClient producer = connect()) {
            c.send(RECV, 1, recvArgs("t", 1, 10, true));
            c.send(RECV, 2, recvArgs("t", 1, 10, true));
            c.send(GTD, 3, Map.of("Topic", "t")); // not read while two polls are in flight
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> t.pendingPolls() == 2);
            assertThat(producer.call(GTD, 1, Map.of("Topic", "t")).error()).isEmpty();
            producer.call(SEND, 2, sendArgs("t", false, "go"));
            Map<Long, Response> got = new HashMap<>();
            for (int i = 0; i < 3; i++) {
                Response r = c.read();
                got.put(r.seq(), r);
            }
            assertThat(got.keySet()).containsExactlyInAnyOrder(1L, 2L, 3L);
            // the details were read only after a poll was answered, so they see the message
            assertThat(got.get(3L).body().get("LastIndex").asLong()).isEqualTo(1);
        }
    }

    @Test
    void aClientThatStopsReadingNeverBlocksTheThreadsThatAnswerIt() throws Exception {
        start(new TestConfig().maxPending(1000));
        FakeTopic t = registry.add(new FakeTopic("t"));
        int polls = 300;
        try (RpcTestClient slow = connect(); RpcTestClient producer = connect(); RpcTestClient other = connect()) {
            for (int i = 1; i <= polls; i++) {
                slow.send(RECV, i, recvArgs("t", 1, 50, true));
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> t.pendingPolls() == polls);
            String[] msgs = new String[50];
            java.util.Arrays.fill(msgs, "x".repeat(1000));
            // this send completes every poll on the producer connection's thread: 300 replies of
            // ~50 KB (15 MB) to a socket nobody reads; the thread writes what fits and moves on
            assertThat(producer.call(SEND, 1, sendArgs("t", false, msgs)).code()).isZero();
            assertThat(other.call(GTD, 1, Map.of("Topic", "t")).body().get("LastIndex").asLong()).isEqualTo(50);
            java.util.Set<Long> seqs = new java.util.HashSet<>();
            for (int i = 0; i < polls; i++) { // the client reads at last: every reply arrives whole
                Response r = slow.read();
                assertThat(r.body().get("ReceivedMessages").size()).isEqualTo(50);
                seqs.add(r.seq());
            }
            assertThat(seqs).hasSize(polls);
        }
    }

    @Test
    void repliesHoldTheirInFlightSlotUntilTheyAreWritten() throws Exception {
        start(new TestConfig().maxPending(4));
        FakeTopic t = registry.add(new FakeTopic("t"));
        try (RpcTestClient slow = connect(16 << 10); RpcTestClient producer = connect()) {
            Map<String, Object> eightMiB = Map.of("Topic", "t", "SentMessages", Collections.nCopies(8, new byte[1 << 20]),
                    "WaitForCommit", false);
            assertThat(producer.call(SEND, 1, eightMiB).code()).isZero();
            slow.send(RECV, 1, recvArgs("t", 1, 500, false)); // an 8 MiB reply: more than the sockets hold
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.queuedBytes() > 0);
            for (int i = 2; i <= 21; i++) {
                slow.send(SEND, i, sendArgs("t", false, "s" + i));
            }
            // the unwritten reply and three sends take the 4 slots: no further send is read
            Awaitility.await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> t.messages().size() <= 8 + 3);
            for (int i = 0; i < 21; i++) {
                slow.read();
            }
            assertThat(t.messages()).hasSize(8 + 20);
        }
    }

    @Test
    void aClientThatDoesNotReadHasAtMostTheQueueLimitPlusOneMessagePerReplyQueued() throws Exception {
        int maxReadBytes = 64 << 10; // the queue limit is twice that
        int polls = 200;
        start(new TestConfig().maxReadBytes(maxReadBytes));
        FakeTopic t = registry.add(new FakeTopic("t"));
        try (RpcTestClient slow = connect(16 << 10); RpcTestClient producer = connect()) {
            for (int i = 1; i <= polls; i++) {
                slow.send(RECV, i, recvArgs("t", 1, 100, true));
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> t.pendingPolls() == polls);
            String[] msgs = new String[100];
            java.util.Arrays.fill(msgs, "x".repeat(1000));
            // completes every poll with 100 messages: 20 MB of replies if none were trimmed
            assertThat(producer.call(SEND, 1, sendArgs("t", false, msgs)).code()).isZero();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.queuedBytes() > 0); // sockets full
            long bound = 2L * maxReadBytes + polls * (1000 + 200L); // one message and its framing per reply
            Awaitility.await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> server.queuedBytes() <= bound);
            assertThat(Thread.getAllStackTraces().keySet().stream()
                    .filter(th -> th.getName().startsWith("forestbus-cbor-write-"))).hasSizeLessThanOrEqualTo(CborRpcServer.WRITER_THREADS);
            int trimmed = 0;
            for (int i = 0; i < polls; i++) {
                Response r = slow.read();
                int n = r.body().get("ReceivedMessages").size();
                assertThat(n).isBetween(1, 100);
                assertThat(r.body().get("NextID").asLong()).isEqualTo(1 + n); // the rest is for the next poll
                if (n < 100) {
                    trimmed++;
                }
            }
            assertThat(trimmed).isPositive();
        }
    }

    /** Random mixes of long polls, sends and details on one connection; every reply matches its request. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42, 20151})
    void randomPipelinedMixIsAnsweredByMatchingSeq(long seed) throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed);
        start();
        FakeTopic t = registry.add(new FakeTopic("t"));
        int n = 60;
        Map<Long, String> sent = new HashMap<>();
        try (RpcTestClient c = connect()) {
            long seq = rnd.nextLong(1L << 40); // arbitrary start, unique increments
            int polls = 0;
            for (int i = 0; i < n; i++, seq += 1 + rnd.nextInt(3)) {
                int kind = rnd.nextInt(4);
                if (kind == 0) {
                    c.send(RECV, seq, recvArgs("t", 1 + rnd.nextInt(20), 1 + rnd.nextInt(5), true));
                    sent.put(seq, RECV);
                    polls++;
                } else if (kind == 1) {
                    c.send(SEND, seq, sendArgs("t", rnd.nextBoolean(), "s" + seq));
                    sent.put(seq, SEND);
                } else if (kind == 2) {
                    c.send(GTD, seq, Map.of("Topic", "t"));
                    sent.put(seq, GTD);
                } else {
                    c.send("RPCHandler.Nope", seq, Map.of());
                    sent.put(seq, "RPCHandler.Nope");
                }
            }
            // enough messages to release every poll (ids up to 20)
            try (RpcTestClient p = connect()) {
                assertThat(p.call(SEND, 0, fill20()).code()).isZero();
            }
            for (int i = 0; i < n; i++) {
                Response r = c.read();
                String method = sent.remove(r.seq());
                assertThat(method).as("seed %d: unexpected or duplicate seq %d", seed, r.seq()).isNotNull();
                assertThat(r.serviceMethod()).as("seed %d", seed).isEqualTo(method);
                if (method.equals("RPCHandler.Nope")) {
                    assertThat(r.error()).as("seed %d", seed).startsWith("rpc: can't find method");
                } else {
                    assertThat(r.error()).as("seed %d", seed).isEmpty();
                    assertThat(r.code()).as("seed %d", seed).isZero();
                }
                if (method.equals(RECV)) {
                    assertThat(r.body().get("ReceivedMessages")).as("seed %d", seed).isNotEmpty();
                }
            }
            assertThat(sent).as("seed %d: unanswered", seed).isEmpty();
            assertThat(t.pendingPolls()).as("seed %d: %d polls sent", seed, polls).isZero();
        }
    }

    private static Map<String, Object> fill20() {
        String[] m = new String[20];
        for (int i = 0; i < 20; i++) {
            m[i] = "fill" + i;
        }
        return sendArgs("t", false, m);
    }
}
