package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.forestbus.cbor.internal.RpcSemanticsTest.recvArgs;
import static org.forestbus.cbor.internal.RpcSemanticsTest.sendArgs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.forestbus.cbor.internal.RpcTestClient.Response;
import org.junit.jupiter.api.Test;

/** The listener-wide budgets of heap held by sends and by replies ({@code max.buffered.send.bytes}, {@code max.buffered.reply.bytes}). */
class MemoryBudgetTest extends ServerTestSupport {

    static final int MAX_REQUEST = 64 << 10;
    static final long BUDGET = 100 << 10;
    static final int MESSAGE = 40_000;

    @Test
    void sendsBeyondTheBudgetWaitUnreadUntilEarlierSendsAreAnswered() throws Exception {
        start(new TestConfig().maxRequestBytes(MAX_REQUEST).maxBufferedSendBytes(BUDGET));
        FakeTopic t = registry.add(new FakeTopic("t")).autoCommit(false); // sends wait for their commit
        String body = "x".repeat(MESSAGE);
        List<RpcTestClient> producers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            RpcTestClient c = connect();
            producers.add(c);
            c.send(SEND, 1, sendArgs("t", true, body));
        }
        // each decoded send holds its 40,000 bytes until answered; a body is decoded only while
        // less than the budget (102,400) is held: three get in, the other three stay unread
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> t.messages().size() >= 3);
        try (RpcTestClient consumer = connect()) {
            // other requests still go through meanwhile (a reader of another connection is not held up)
            Response details = consumer.call(GTD, 1, Map.of("Topic", "t"));
            assertThat(details.body().get("LastIndex").asLong()).isEqualTo(3);
        }
        assertThat(t.messages()).hasSize(3);
        assertThat(server.sendMemory().held()).isEqualTo(3L * MESSAGE);

        t.autoCommit(true).commit(3); // the three are answered: their memory goes back, the rest get in
        List<Long> ids = new ArrayList<>();
        for (RpcTestClient c : producers) {
            Response r = c.read();
            assertThat(r.code()).isZero();
            ids.add(r.body().get("IDs").get(0).asLong());
        }
        assertThat(ids).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(t.messages()).hasSize(6).allSatisfy(m -> assertThat(m).hasSize(MESSAGE));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.sendMemory().held() == 0);
    }

    @Test
    void repliesShrinkToOneMessageWhileClientsThatDoNotReadHoldTheReplyBudget() throws Exception {
        start(new TestConfig().maxReadBytes(1 << 20).maxBufferedReplyBytes(200_000));
        FakeTopic t = registry.add(new FakeTopic("t"));
        String[] msgs = new String[60];
        java.util.Arrays.fill(msgs, "y".repeat(10_000));
        try (RpcTestClient producer = connect(); RpcTestClient stalled = connect(4096); RpcTestClient other = connect()) {
            assertThat(producer.call(SEND, 1, sendArgs("t", false, msgs)).code()).isZero();
            int asked = 100; // 100 replies of 200 KB: more than the kernel's socket buffers take
            for (int i = 1; i <= asked; i++) { // asks for everything, reads nothing: its replies stay owed
                stalled.send(RECV, i, recvArgs("t", 1, 60, false));
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.replyMemory().room() == 0);
            Response shrunk = other.call(RECV, 1, recvArgs("t", 1, 60, false));
            assertThat(shrunk.body().get("ReceivedMessages").size()).isEqualTo(1); // sizes only: the payloads are big
            assertThat(shrunk.body().get("NextID").asLong()).isEqualTo(2);

            for (int i = 1; i <= asked; i++) { // now it reads: what it was owed is given back
                assertThat(stalled.read().body().get("ReceivedMessages").size()).isPositive();
            }
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.replyMemory().held() == 0);
            Response full = other.call(RECV, 2, recvArgs("t", 1, 60, false));
            assertThat(full.body().get("ReceivedMessages").size()).isEqualTo(20); // 200,000 bytes fit the budget
            assertThat(full.body().get("NextID").asLong()).isEqualTo(21);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.replyMemory().held() == 0);
        assertThat(t.messages()).hasSize(60);
    }

    @Test
    void aSendThatStallsPartWayIsClosedAndGivesBackItsReservationWhileIdleConnectionsStay() throws Exception {
        start(new TestConfig().maxRequestBytes(MAX_REQUEST).requestTimeoutMs(300));
        FakeTopic t = registry.add(new FakeTopic("t"));
        try (RpcTestClient idle = connect(); RpcTestClient trickler = connect()) {
            byte[] whole = RpcTestClient.request(SEND, 1, sendArgs("t", true, "z".repeat(MESSAGE)));
            trickler.writeRaw(java.util.Arrays.copyOf(whole, whole.length - 10)); // the last bytes never come
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.sendMemory().held() == MAX_REQUEST);
            assertThat(trickler.awaitEof()).isTrue(); // closed after request.timeout.ms without a byte
            assertThat(server.sendMemory().held()).isZero();
            assertThat(t.messages()).isEmpty();
            // a connection idle between requests for longer than that is still served
            assertThat(idle.call(GTD, 1, Map.of("Topic", "t")).error()).isEmpty();
        }
    }

    @Test
    void reservationsStopAtTheCapacityAndAWaitingReaderIsWokenByARelease() {
        MemoryBudget m = new MemoryBudget("max.buffered.send.bytes", 100);
        assertThat(m.tryReserve(64)).isTrue();
        assertThat(m.tryReserve(64)).isTrue(); // 64 < 100 held before: may pass it by one request
        assertThat(m.tryReserve(1)).isFalse();
        int[] woken = {0};
        Runnable wake = () -> woken[0]++;
        m.addWaiter(wake);
        m.release(20); // 108 held: still at or over the capacity
        assertThat(woken[0]).isZero();
        m.release(40); // 68
        assertThat(woken[0]).isEqualTo(1);
        m.removeWaiter(wake);
        m.release(68);
        assertThat(woken[0]).isEqualTo(1);
        assertThat(m.held()).isZero();
        assertThatThrownBy(() -> new MemoryBudget("max.buffered.send.bytes", 0)).hasMessageContaining("max.buffered.send.bytes");
    }
}
