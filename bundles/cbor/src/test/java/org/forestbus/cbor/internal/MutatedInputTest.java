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
        System.out.printf("reliability: cbor-mutated seed=%d cases=%d violations=0%n", seed, cases);
    }

    /**
     * The malformed-input list of RELIABILITY.md L4, each sent after a valid header, then EOF:
     * every case is either answered (RPC error or reply) or closes the connection, within the
     * socket timeout, and the server keeps serving. Prints the layer's figure line.
     */
    @Test
    void namedMalformedCases() throws Exception {
        start(new TestConfig().maxRequestBytes(64 << 10));
        registry.add(new FakeTopic("t").fill(2).commit(2));
        byte[] sendHeader = RpcTestClient.cat(RpcTestClient.hex("a2 6d 536572766963654d6574686f64"),
                RpcTestClient.text(SEND), RpcTestClient.hex("63 536571 01"));
        byte[] deep = new byte[10_000];
        java.util.Arrays.fill(deep, (byte) 0x81);
        Map<String, byte[]> cases = new java.util.LinkedHashMap<>();
        cases.put("10000-deep nesting", RpcTestClient.cat(sendHeader, deep));
        cases.put("byte string declaring 2^63 bytes", RpcTestClient.cat(sendHeader,
                RpcTestClient.hex("a1 6c 53656e744d65737361676573 81 5b 8000000000000000")));
        cases.put("text string declaring 2^64-1 bytes", RpcTestClient.cat(sendHeader,
                RpcTestClient.hex("a1 65 546f706963 7b ffffffffffffffff")));
        cases.put("map declaring 10^7 entries", RpcTestClient.cat(sendHeader, RpcTestClient.hex("ba 00989680 61 61 01")));
        cases.put("array declaring 10^7 messages", RpcTestClient.cat(sendHeader,
                RpcTestClient.hex("a1 6c 53656e744d65737361676573 9a 00989680 41 61")));
        cases.put("wrong major types", RpcTestClient.cat(sendHeader,
                RpcTestClient.hex("a3 65 546f706963 01 6c 53656e744d65737361676573 a0 6d 57616974466f72436f6d6d6974 61 78")));
        cases.put("invalid UTF-8 text", RpcTestClient.cat(sendHeader, RpcTestClient.hex("a1 65 546f706963 62 c328")));
        cases.put("duplicate keys", RpcTestClient.cat(sendHeader,
                RpcTestClient.hex("a3 65 546f706963 61 78 65 546f706963 61 74 6c 53656e744d65737361676573 81 41 61")));
        cases.put("truncated body", RpcTestClient.cat(sendHeader, RpcTestClient.hex("a2 65 546f706963 61")));
        cases.put("trailing garbage", RpcTestClient.cat(sendHeader, RpcTestClient.hex("a0 ff ff ff")));
        cases.put("negative Seq", RpcTestClient.hex("a2 6d 536572766963654d6574686f64 60 63 536571 20 a0"));
        cases.put("bignum tag as ID", RpcTestClient.cat(RpcTestClient.hex("a2 6d 536572766963654d6574686f64"),
                RpcTestClient.text(RECV), RpcTestClient.hex("63 536571 01 a2 65 546f706963 61 74 62 4944 c2 49 010000000000000000")));
        int handled = 0;
        for (Map.Entry<String, byte[]> e : cases.entrySet()) {
            try (RpcTestClient c = connect()) {
                try {
                    c.writeRaw(e.getValue());
                    c.shutdownOutput();
                } catch (java.io.IOException closedEarly) {
                    // already closed by the server
                }
                assertThat(c.awaitEof()).as(e.getKey()).isTrue();
                handled++;
            }
        }
        try (RpcTestClient c = connect()) {
            assertThat(c.call(GTD, 1, Map.of("Topic", "t")).body().get("LastIndex").asLong()).isGreaterThanOrEqualTo(2);
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.connectionCount() == 0);
        System.out.printf("reliability: cbor-malformed cases=%d handled=%d violations=%d%n",
                cases.size(), handled, cases.size() - handled);
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
