package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.forestbus.cbor.internal.RpcSemanticsTest.recvArgs;
import static org.forestbus.cbor.internal.RpcSemanticsTest.sendArgs;

import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;
import org.awaitility.Awaitility;
import org.forestbus.cbor.internal.RpcTestClient.Response;
import org.junit.jupiter.api.Test;

/**
 * Valid request streams with random byte flips, truncations and insertions: whatever arrives,
 * the server answers or closes, never hangs after the client's EOF, never takes other
 * connections down, and leaks no connection.
 */
class MutatedInputTest extends ServerTestSupport {

    @Test
    void mutatedRequestsNeverBreakTheServer() throws Exception {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        start(new TestConfig().maxRequestBytes(64 << 10));
        registry.add(new FakeTopic("t").fill(5).commit(5));
        byte[] valid = RpcTestClient.cat(
                RpcTestClient.request(SEND, 1, sendArgs("t", false, "abc", "defgh")),
                RpcTestClient.request(RECV, 2, recvArgs("t", 1, 3, false)),
                RpcTestClient.request(GTD, 3, Map.of("Topic", "t")),
                RpcTestClient.request(GCD, 4, Map.of()));
        int cases = 150;
        for (int i = 0; i < cases; i++) {
            byte[] b = mutate(valid, rnd);
            String hex = HexFormat.of().formatHex(b);
            try (RpcTestClient c = connect()) {
                try {
                    c.writeRaw(b);
                    c.shutdownOutput();
                } catch (java.io.IOException closedEarly) {
                    // the server may already have closed: fine
                }
                assertThat(c.awaitEof()).as("seed %d case %d: %s", seed, i, hex).isTrue();
            } catch (java.io.IOException e) {
                throw new AssertionError("seed " + seed + " case " + i + ": " + hex, e);
            }
        }
        try (RpcTestClient c = connect()) {
            Response r = c.call(GTD, 9, Map.of("Topic", "t"));
            assertThat(r.body().get("CommitIndex").asLong()).as("seed %d", seed).isGreaterThanOrEqualTo(5);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.connectionCount() == 0);
    }

    private static byte[] mutate(byte[] valid, SplittableRandom rnd) {
        byte[] b = valid.clone();
        int kind = rnd.nextInt(3);
        if (kind == 0) { // flip 1-4 random bytes
            for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            }
            return b;
        }
        if (kind == 1) { // truncate
            return java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
        }
        int at = rnd.nextInt(b.length); // insert a random run
        byte[] ins = new byte[1 + rnd.nextInt(8)];
        for (int k = 0; k < ins.length; k++) {
            ins[k] = (byte) rnd.nextInt(256);
        }
        return RpcTestClient.cat(java.util.Arrays.copyOf(b, at), ins, java.util.Arrays.copyOfRange(b, at, b.length));
    }
}
