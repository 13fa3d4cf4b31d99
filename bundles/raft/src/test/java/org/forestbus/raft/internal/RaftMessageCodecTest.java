package org.forestbus.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.List;
import org.forestbus.api.MalformedBatchException;
import org.forestbus.api.MessageBatch;
import org.forestbus.raft.core.Membership;
import org.forestbus.raft.core.Message;
import org.forestbus.raft.core.MessageType;
import org.junit.jupiter.api.Test;

class RaftMessageCodecTest {

    static final List<Membership> CONFIGS = List.of(
            new Membership(0, 0, List.of("n1", "n2", "n3"), List.of()),
            new Membership(41, 7, List.of("n1", "n2", "n3"), List.of("nœud-4")));

    @Test
    void appendWithEntriesAndConfigurationsRoundTrips() {
        MessageBatch entries = MessageBatch.of(List.of("a".getBytes(), new byte[0], "ccc".getBytes())).stampTerm(7);
        Message m = new Message(MessageType.APPEND, "n1", "nœud-4", 7, 40, 6, entries, 39, false, 0, false, CONFIGS);
        Message back = RaftMessageCodec.decode(RaftMessageCodec.encode(m));
        assertThat(back.configs()).isEqualTo(CONFIGS);
        assertThat(back.entries().payloadArrays()).containsExactly("a".getBytes(), new byte[0], "ccc".getBytes());
        assertThat(new Message(back.type(), back.from(), back.to(), back.term(), back.index(), back.logTerm(),
                m.entries(), back.commit(), back.reject(), back.rejectHint(), back.transfer(), back.configs()))
                .isEqualTo(m);
    }

    @Test
    void flagsAndEmptyConfigsRoundTrip() {
        Message m = new Message(MessageType.VOTE, "a", "b", 3, 10, 2, MessageBatch.empty(), 0, true, 9, true);
        Message back = RaftMessageCodec.decode(RaftMessageCodec.encode(m));
        assertThat(back.reject()).isTrue();
        assertThat(back.transfer()).isTrue();
        assertThat(back.rejectHint()).isEqualTo(9);
        assertThat(back.configs()).isEmpty();
    }

    @Test
    void everyTruncationOfAFrameIsRefused() {
        Message m = new Message(MessageType.APPEND, "n1", "n2", 7, 40, 6, MessageBatch.of(List.of("x".getBytes())).stampTerm(7),
                39, false, 0, false, CONFIGS);
        ByteBuffer full = RaftMessageCodec.encode(m);
        int headerAndConfigs = full.remaining() - m.entries().buffer().remaining();
        for (int len = 0; len < full.remaining(); len++) {
            ByteBuffer cut = full.duplicate().limit(len);
            if (len == headerAndConfigs) {
                assertThat(RaftMessageCodec.decode(cut).entries().isEmpty()).isTrue(); // entries are "the rest"
                continue;
            }
            int l = len;
            assertThatThrownBy(() -> RaftMessageCodec.decode(cut)).as("length %d", l).isInstanceOf(MalformedBatchException.class);
        }
    }

    @Test
    void oversizedCountsAndOldVersionsAreRefusedBeforeAllocation() {
        ByteBuffer b = RaftMessageCodec.encode(Message.class.cast(
                new Message(MessageType.HEARTBEAT, "a", "b", 1, 0, 0, MessageBatch.empty(), 0, false, 0, false)));
        ByteBuffer v1 = b.duplicate();
        v1.put(0, (byte) 1);
        assertThatThrownBy(() -> RaftMessageCodec.decode(v1)).hasMessageContaining("version");
        ByteBuffer many = ByteBuffer.allocate(3).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        many.putShort((short) 60000).flip();
        assertThatThrownBy(() -> MembershipCodec.read(many)).isInstanceOf(MalformedBatchException.class)
                .hasMessageContaining("too many");
    }

    @Test
    void storedRecordRoundTripsAndRejectsGarbage() {
        assertThat(MembershipCodec.fromRecord(MembershipCodec.toRecord(CONFIGS))).isEqualTo(CONFIGS);
        assertThatThrownBy(() -> MembershipCodec.fromRecord(new byte[0])).isInstanceOf(MalformedBatchException.class);
        assertThatThrownBy(() -> MembershipCodec.fromRecord(new byte[] {1, 0, 0})).isInstanceOf(MalformedBatchException.class);
        byte[] r = MembershipCodec.toRecord(CONFIGS);
        byte[] longer = java.util.Arrays.copyOf(r, r.length + 1);
        assertThatThrownBy(() -> MembershipCodec.fromRecord(longer)).isInstanceOf(MalformedBatchException.class);
    }
}
