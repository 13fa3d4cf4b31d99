package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.forestbus.cbor.internal.RpcSemanticsTest.sendArgs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.forestbus.cbor.internal.RpcTestClient.Response;
import org.junit.jupiter.api.Test;

/** The listener-wide budget of heap held by sends ({@code max.buffered.send.bytes}). */
class SendMemoryTest extends ServerTestSupport {

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
    void reservationsStopAtTheCapacityAndAWaitingReaderIsWokenByARelease() {
        SendMemory m = new SendMemory(100);
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
        assertThatThrownBy(() -> new SendMemory(0)).hasMessageContaining("max.buffered.send.bytes");
    }
}
