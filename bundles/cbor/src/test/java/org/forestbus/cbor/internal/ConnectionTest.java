package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.forestbus.cbor.internal.RpcSemanticsTest.recvArgs;
import static org.forestbus.cbor.internal.RpcSemanticsTest.sendArgs;
import static org.forestbus.cbor.internal.RpcTestClient.cat;
import static org.forestbus.cbor.internal.RpcTestClient.hex;
import static org.forestbus.cbor.internal.RpcTestClient.text;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.forestbus.cbor.internal.RpcTestClient.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Framing, pipelining, limits and lifecycle over real loopback sockets. */
class ConnectionTest extends ServerTestSupport {

    private static void await(java.util.concurrent.Callable<Boolean> condition) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(condition);
    }

    private static byte[] header(String method, int seq) {
        return cat(hex("a2 6d 536572766963654d6574686f64"), text(method), hex("63 536571"), new byte[] {(byte) seq});
    }

    /** Proves the server still serves: a fresh connection gets a GetTopicDetails answer. */
    private void assertServing() throws IOException {
        try (RpcTestClient c = connect()) {
            Response r = c.call(GTD, 99, Map.of("Topic", "t"));
            assertThat(r.seq()).isEqualTo(99);
            assertThat(r.error()).isEmpty();
        }
    }

    @Test
    void aLongPollDoesNotBlockLaterRequestsOnTheSameConnection() throws Exception {
        start();
        FakeTopic t = registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect(); RpcTestClient producer = connect()) {
            c.send(RECV, 1, recvArgs("t", 1, 10, true));
            c.send(GTD, 2, Map.of("Topic", "t"));
            Response first = c.read();
            assertThat(first.seq()).isEqualTo(2);
            assertThat(first.serviceMethod()).isEqualTo(GTD);
            await(() -> t.pendingPolls() == 1);
            assertThat(producer.call(SEND, 1, sendArgs("t", true, "hello")).code()).isZero();
            Response poll = c.read();
            assertThat(poll.seq()).isEqualTo(1);
            assertThat(RpcSemanticsTest.payloads(poll)).containsExactly("hello");
            assertThat(poll.body().get("NextID").asLong()).isEqualTo(2);
        }
    }

    @Test
    void aWaitForCommitSendDoesNotBlockLaterRequests() throws Exception {
        start();
        FakeTopic t = registry.add(new FakeTopic("t").autoCommit(false));
        try (RpcTestClient c = connect()) {
            c.send(SEND, 1, sendArgs("t", true, "x"));
            c.send(GTD, 2, Map.of("Topic", "t"));
            Response details = c.read();
            assertThat(details.seq()).isEqualTo(2);
            assertThat(details.body().get("LastIndex").asLong()).isEqualTo(1);
            t.commit(1);
            Response sent = c.read();
            assertThat(sent.seq()).isEqualTo(1);
            assertThat(sent.body().get("IDs").toString()).isEqualTo("[1]");
        }
    }

    /**
     * A client that goes away (end of stream or reset) while its long polls are parked frees its
     * connection at once, not when the polls expire; with 4 polls the reader waits for a free
     * in-flight slot rather than for input when the client leaves.
     */
    @ParameterizedTest(name = "{0} with {1} parked polls")
    @CsvSource({"close, 2", "close, 4", "reset, 2", "reset, 4"})
    void aClientGoneWithParkedPollsFreesItsConnectionAtOnce(String how, int polls) throws Exception {
        start(new TestConfig().maxConnections(1).maxPending(4));
        FakeTopic t = registry.add(new FakeTopic("t"));
        RpcTestClient c = connect();
        for (int i = 1; i <= polls; i++) {
            c.send(RECV, i, recvArgs("t", 1, 10, true));
        }
        await(() -> t.pendingPolls() == polls);
        if (how.equals("reset")) {
            c.abort();
        } else {
            c.close();
        }
        await(() -> server.connectionCount() == 0 && t.pendingPolls() == 0);
        assertServing(); // the only connection slot is free again
    }

    @Test
    void endOfInputAnswersParkedPollsAsEmptyAndStillWritesRepliesThatComplete() throws Exception {
        start();
        FakeTopic t = registry.add(new FakeTopic("t").autoCommit(false));
        try (RpcTestClient c = connect()) {
            c.send(SEND, 1, sendArgs("t", true, "x")); // waits for the commit
            c.send(RECV, 2, recvArgs("t", 1, 10, true)); // parks: nothing committed yet
            await(() -> t.pendingPolls() == 1);
            c.shutdownOutput();
            Response poll = c.read(); // cancelled at the end of input: answered as an expired poll
            assertThat(poll.seq()).isEqualTo(2);
            assertThat(poll.error()).isEmpty();
            assertThat(poll.body().get("ReceivedMessages").isNull()).isTrue();
            assertThat(poll.body().get("NextID").asLong()).isEqualTo(1);
            await(() -> t.pendingPolls() == 0); // the topic drops it after the reply: cancel() runs newest dependents first
            t.commit(1);
            Response sent = c.read(); // completes within the grace: still written
            assertThat(sent.seq()).isEqualTo(1);
            assertThat(sent.body().get("IDs").toString()).isEqualTo("[1]");
            assertThatThrownBy(c::read).hasMessageContaining("closed");
        }
        await(() -> server.connectionCount() == 0);
    }

    @Test
    void aReplyStillOwedAfterTheEndOfInputIsGivenUpAfterTheGrace() throws Exception {
        start();
        registry.add(new FakeTopic("t").autoCommit(false));
        RpcTestClient c = connect();
        c.send(SEND, 1, sendArgs("t", true, "never committed"));
        c.close();
        Awaitility.await().atMost(Duration.ofMillis(CborConnection.EOF_GRACE_MS).plusSeconds(10))
                .until(() -> server.connectionCount() == 0);
    }

    @Test
    void declaredByteStringLongerThanTheLimitClosesAtOnceWithoutWaitingForTheBytes() throws Exception {
        start(new TestConfig().maxRequestBytes(1024));
        registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect()) {
            // SentMessages: [ bytes(declared 2^62) ] and nothing else: the server must not wait for (or allocate) them
            c.writeRaw(cat(header(SEND, 1), hex("a2 65 546f706963 61 74 6c 53656e744d65737361676573 81 5b 4000000000000000")));
            assertThat(c.awaitEof()).isTrue();
        }
        try (RpcTestClient c = connect()) {
            c.writeRaw(cat(header(GTD, 1), hex("a1 65 546f706963 7a 40000000"))); // text of declared 1 GiB
            assertThat(c.awaitEof()).isTrue();
        }
        assertServing();
    }

    @Test
    void stringReferencesCannotAmplifyARequestBeyondTheLimit() throws Exception {
        start(new TestConfig().maxRequestBytes(64 << 10));
        FakeTopic t = registry.add(new FakeTopic("t"));
        // tag 256 (stringref namespace) around the args; one 1000-byte payload, then 2000 references to it (tag 25)
        StringBuilder refs = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            refs.append("d819 02"); // index 2: "Topic" and "SentMessages" are references 0 and 1
        }
        byte[] body = cat(hex("d9 0100 a2 65 546f706963 61 74 6c 53656e744d65737361676573 99 07d1 59 03e8"), new byte[1000],
                hex(refs.toString()));
        assertThat(body.length).isLessThan(64 << 10);
        try (RpcTestClient c = connect()) {
            c.writeRaw(cat(header(SEND, 1), body));
            assertThat(c.awaitEof()).isTrue();
        }
        assertThat(t.messages()).isEmpty();
        assertServing();
    }

    @Test
    void bodyLargerThanTheLimitInSmallChunksIsCutOff() throws Exception {
        start(new TestConfig().maxRequestBytes(4096));
        registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect()) {
            // an indefinite-length byte string of 100-byte chunks, never terminated
            c.writeRaw(cat(header(SEND, 1), hex("a1 6c 53656e744d65737361676573 81 5f")));
            byte[] chunk = cat(hex("58 64"), new byte[100]);
            try {
                for (int i = 0; i < 1000; i++) {
                    c.writeRaw(chunk);
                }
            } catch (IOException expected) {
                // the server closed the connection while we were still writing
            }
            assertThat(c.awaitEof()).isTrue();
        }
        // a legal request just under the limit still works
        try (RpcTestClient c = connect()) {
            Response r = c.call(SEND, 2, Map.of("Topic", "t", "SentMessages", List.of(new byte[4000]), "WaitForCommit", false));
            assertThat(r.code()).isZero();
        }
    }

    @Test
    void garbageAndUndecodableHeadersCloseTheConnection() throws Exception {
        start();
        registry.add(new FakeTopic("t"));
        for (String garbage : new String[] {"ff ff ff ff", "07", "1c", "a1 6d 536572766963654d6574686f64 f9 3c00", "a1 63 536571 fb 3ff0000000000000"}) {
            try (RpcTestClient c = connect()) {
                c.writeRaw(hex(garbage));
                assertThat(c.awaitEof()).as("garbage %s", garbage).isTrue();
            }
        }
        assertServing();
    }

    @Test
    void deepNestingClosesTheConnection() throws Exception {
        start();
        registry.add(new FakeTopic("t"));
        try (RpcTestClient c = connect()) {
            byte[] deep = new byte[10_000];
            java.util.Arrays.fill(deep, (byte) 0x81); // [[[[...
            c.writeRaw(cat(header(GTD, 1), hex("a1 65 546f706963"), deep));
            assertThat(c.awaitEof()).isTrue();
        }
        // depth within the limit is fine
        try (RpcTestClient c = connect()) {
            c.writeRaw(cat(header(GTD, 1), hex("a2 65 546f706963 61 74 61 78 81 81 81 81 00")));
            Response r = c.read();
            assertThat(r.error()).isEmpty();
        }
        assertServing();
    }

    @Test
    void manyConcurrentConnectionsEachGetTheirOwnAnswers() throws Exception {
        start();
        FakeTopic t = registry.add(new FakeTopic("t"));
        int clients = 40;
        int perClient = 25;
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int k = 0; k < clients; k++) {
                int id = k;
                results.add(pool.submit(() -> {
                    try (RpcTestClient c = connect()) {
                        for (int i = 0; i < perClient; i++) { // pipelined: send all, then read all
                            c.send(SEND, i, sendArgs("t", false, id + "-" + i));
                        }
                        int ok = 0;
                        boolean[] seen = new boolean[perClient];
                        for (int i = 0; i < perClient; i++) {
                            Response r = c.read();
                            if (r.code() == 0 && !seen[(int) r.seq()]) {
                                seen[(int) r.seq()] = true;
                                ok++;
                            }
                        }
                        return ok;
                    }
                }));
            }
            for (Future<Integer> f : results) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(perClient);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(t.messages()).hasSize(clients * perClient);
    }

    @Test
    void connectionsBeyondTheLimitAreClosed() throws Exception {
        start(new TestConfig().maxConnections(2));
        registry.add(new FakeTopic("t"));
        RpcTestClient a = connect();
        RpcTestClient b = connect();
        assertThat(a.call(GTD, 1, Map.of("Topic", "t")).error()).isEmpty();
        assertThat(b.call(GTD, 1, Map.of("Topic", "t")).error()).isEmpty();
        try (RpcTestClient c = connect()) {
            assertThat(c.awaitEof()).isTrue();
        }
        a.close();
        await(() -> server.connectionCount() == 1);
        assertServing();
    }

    @Test
    void acceptFailuresWhileTheListenerIsOpenDoNotStopIt() throws Exception {
        AtomicInteger failures = new AtomicInteger(3);
        start(new TestConfig(), listener -> {
            if (failures.getAndDecrement() > 0) {
                throw new IOException("Too many open files"); // as accept(2) fails with EMFILE
            }
            return listener.accept();
        });
        registry.add(new FakeTopic("t"));
        assertServing();
        assertThat(failures.get()).isNegative();
    }

    @Test
    void deactivateClosesTheListenerAndOpenConnections() throws Exception {
        start();
        FakeTopic t = registry.add(new FakeTopic("t"));
        int port = server.port();
        RpcTestClient c = connect();
        c.send(RECV, 1, recvArgs("t", 1, 10, true)); // an outstanding long poll
        await(() -> t.pendingPolls() == 1);
        server.deactivate();
        server = null;
        assertThat(c.awaitEof()).isTrue();
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
    }
}
