package org.forestbus.api;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageBatchTest {

    /** FORESTBUS-SPEC §1.1 test vector: "hello" and an empty payload, term 7. */
    private static final String VECTOR = "00050000000700000000000000" + "86a61036" + "68656c6c6f"
            + "00000000000700000000000000" + "00000000";

    @Test
    void encodesTheSpecTestVectorByteForByte() {
        MessageBatch b = MessageBatch.of(List.of("hello".getBytes(UTF_8), new byte[0])).stampTerm(7);
        ByteBuffer buf = b.buffer();
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        assertThat(HexFormat.of().formatHex(bytes)).isEqualTo(VECTOR);
        assertThat(b.count()).isEqualTo(2);
        assertThat(b.term(1)).isEqualTo(7);
        assertThat(b.firstBadChecksum()).isEqualTo(-1);
    }

    @Test
    void wrapWalksHeadersAndSlicesShareBytes() {
        MessageBatch b = MessageBatch.wrap(ByteBuffer.wrap(HexFormat.of().parseHex(VECTOR)));
        assertThat(b.count()).isEqualTo(2);
        assertThat(new String(b.payloadArrays().get(0), UTF_8)).isEqualTo("hello");
        assertThat(b.slice(1, 2).payloadArrays().get(0)).isEmpty();
        assertThat(b.slice(1, 2).sizeBytes()).isEqualTo(17);
        assertThat(b.offset(2)).isEqualTo(b.sizeBytes());
        assertThat(b.payloadBytes()).isEqualTo(5);
    }

    @Test
    void rejectsMalformedBytes() {
        byte[] v = HexFormat.of().parseHex(VECTOR);
        assertThatThrownBy(() -> MessageBatch.wrap(ByteBuffer.wrap(v, 0, v.length - 1)))
                .isInstanceOf(MalformedBatchException.class).hasMessageContaining("partial");
        byte[] badVersion = v.clone();
        badVersion[0] = 1;
        assertThatThrownBy(() -> MessageBatch.wrap(ByteBuffer.wrap(badVersion)))
                .hasMessageContaining("unsupported message format 1");
        byte[] negative = v.clone();
        negative[4] = (byte) 0x80;
        assertThatThrownBy(() -> MessageBatch.wrap(ByteBuffer.wrap(negative))).hasMessageContaining("bad message length");
        byte[] badCrc = v.clone();
        badCrc[17] ^= 1;
        assertThat(MessageBatch.wrap(ByteBuffer.wrap(badCrc)).firstBadChecksum()).isZero();
        assertThatThrownBy(() -> MessageBatch.wrap(ByteBuffer.wrap(badCrc)).verifyChecksums())
                .hasMessageContaining("checksum mismatch in message 0");
    }

    @Test
    void errorsUnwrapToTheirCode() {
        var e = new java.util.concurrent.CompletionException(new NotLeaderException("t", "n2"));
        assertThat(ForestBusException.from(e).code()).isEqualTo(ErrorCode.NOT_LEADER);
        assertThat(((NotLeaderException) ForestBusException.from(e)).leader()).isEqualTo("n2");
        assertThat(ForestBusException.from(new IllegalStateException("x")).code()).isEqualTo(ErrorCode.INTERNAL_ERROR);
    }
}
