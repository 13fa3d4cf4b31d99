package org.forestbus.transport.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.stream.Stream;
import org.forestbus.transport.internal.TestNodes.Inbox;
import org.forestbus.transport.internal.TestNodes.RawPeer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table of malformed input from a raw socket, before and after authentication: each case closes
 * that connection with a specific logged reason, delivers nothing, and the listener keeps working.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedInputTest {

    private TestNodes nodes;
    private TcpPeerTransport b;
    private final Inbox inbox = new Inbox();

    @BeforeAll
    void start() {
        nodes = new TestNodes("a", "b"); // no transport "a" runs: the raw socket plays it
        b = nodes.start("b", new TestNodes.Cfg().maxFrame(64 * 1024));
        b.register("t", inbox);
    }

    @AfterAll
    void stop() {
        nodes.close();
        assertThat(inbox.count.get()).as("nothing malformed was delivered").isZero();
    }

    private static byte[] header(long length, int type, int crc) {
        return ByteBuffer.allocate(Wire.HEADER).putInt((int) length).put((byte) type).putInt(crc).array();
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static byte[] helloBody(int version, String cluster, String from, String to, int nonceBytes) {
        return ByteBuffer.allocate(512).putInt(Wire.MAGIC).put((byte) version).put(Wire.str(cluster)).put(Wire.str(from))
                .put(Wire.str(to)).put(new byte[nonceBytes]).flip().array();
    }

    private static byte[] frame(byte type, byte[] body, int bodyLen) {
        byte[] b = new byte[bodyLen];
        System.arraycopy(body, 0, b, 0, bodyLen);
        return bytes(Wire.frame(type, b));
    }

    private static byte[] hello(int version, String cluster, String from, String to, int nonceBytes) {
        byte[] body = helloBody(version, cluster, from, to, nonceBytes);
        int len = 5 + 2 + cluster.length() + 2 + from.length() + 2 + to.length() + nonceBytes;
        return frame(Wire.HELLO, body, len);
    }

    static Stream<Arguments> cases() {
        byte[] badCrcHello = hello(1, "c1", "a", "b", 32);
        badCrcHello[6] ^= 1;
        byte[] badUtf8 = hello(1, "c1", "a", "b", 32);
        // rebuild with a 0xFF byte inside the node name and a valid CRC
        byte[] body = helloBody(1, "c1", "a", "b", 32);
        body[5 + 2 + 2 + 2] = (byte) 0xFF;
        byte[] badUtf8Hello = frame(Wire.HELLO, body, badUtf8.length - Wire.HEADER);
        byte[] lyingString = helloBody(1, "c1", "a", "b", 32);
        lyingString[5] = 0x7F; // cluster id length 0x7F02
        byte[] dataLies = ByteBuffer.allocate(12).putInt(1000).putShort((short) 1).put((byte) 't').putInt(1).put((byte) 0)
                .array();
        return Stream.of(
                Arguments.of("length -1", false, header(0xFFFFFFFFL, Wire.HELLO, 0), false, "frame length 4294967295 exceeds the cap of 4096 bytes before authentication"),
                Arguments.of("length MAX_INT", false, header(Integer.MAX_VALUE, Wire.HELLO, 0), false, "frame length 2147483647 exceeds"),
                Arguments.of("length cap+1 before auth", false, header(4097, Wire.HELLO, 0), false, "frame length 4097 exceeds the cap of 4096"),
                Arguments.of("bad CRC", false, badCrcHello, false, "checksum mismatch on HELLO"),
                Arguments.of("empty HELLO", false, bytes(Wire.frame(Wire.HELLO)), false, "truncated"),
                Arguments.of("unknown type", false, bytes(Wire.frame((byte) 99)), false, "expected HELLO but got type 99"),
                Arguments.of("DATA first", false, bytes(Wire.frame(Wire.DATA, new byte[4])), false, "expected HELLO but got DATA"),
                Arguments.of("bad magic", false, bytes(Wire.frame(Wire.HELLO, new byte[40])), false, "bad magic"),
                Arguments.of("bad version", false, hello(7, "c1", "a", "b", 32), false, "unsupported protocol version 7"),
                Arguments.of("short nonce", false, hello(1, "c1", "a", "b", 31), false, "truncated"),
                Arguments.of("trailing bytes", false, hello(1, "c1", "a", "b", 33), false, "1 trailing bytes after HELLO"),
                Arguments.of("string beyond frame", false, frame(Wire.HELLO, lyingString, 60), false, "beyond frame end"),
                Arguments.of("invalid UTF-8", false, badUtf8Hello, false, "invalid UTF-8"),
                Arguments.of("addressed to another node", false, hello(1, "c1", "a", "x", 32), false, "connection meant for node 'x'"),
                Arguments.of("EOF inside header", false, new byte[] {0, 0, 0}, true, "during the handshake"),
                Arguments.of("EOF inside body", false, new byte[] {0, 0, 0, 50, 1, 0, 0, 0, 0, 1, 2, 3}, true, "during the handshake"),
                Arguments.of("length cap+1 after auth", true, header(64 * 1024 + 1, Wire.DATA, 0), false, "exceeds the cap of 65536 bytes (max.frame.bytes)"),
                Arguments.of("HELLO after auth", true, hello(1, "c1", "a", "b", 32), false, "unexpected HELLO frame after the handshake"),
                Arguments.of("unknown type after auth", true, bytes(Wire.frame((byte) 42)), false, "unexpected type 42 frame after the handshake"),
                Arguments.of("DATA record count lies", true, bytes(Wire.frame(Wire.DATA, dataLies)), false, "DATA declares 1000 records"),
                Arguments.of("PING with a body", true, bytes(Wire.frame(Wire.PING, new byte[3])), false, "3 trailing bytes after PING"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void closesTheConnectionWithTheReason(String name, boolean authenticate, byte[] input, boolean eof, String reason)
            throws Exception {
        long before = b.violations();
        try (RawPeer raw = new RawPeer(b.localPort())) {
            if (authenticate) {
                assertThat(raw.authenticate("c1", "a", "b", "s3cret")).isTrue();
            }
            raw.write(input);
            if (eof) {
                raw.socket.shutdownOutput();
            }
            assertThat(raw.closedByPeer()).as(name).isTrue();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> b.violations() > before);
        assertThat(b.lastViolation()).as(name).contains(reason);
        // the listener still serves a well-behaved peer
        try (RawPeer ok = new RawPeer(b.localPort())) {
            assertThat(ok.authenticate("c1", "a", "b", "s3cret")).isTrue();
        }
    }
}
