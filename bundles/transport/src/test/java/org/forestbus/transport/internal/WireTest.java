package org.forestbus.transport.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WireTest {

    private static ByteBuffer dataBody(int count, Object... topicAndPayload) {
        ByteBuffer b = ByteBuffer.allocate(1024);
        b.putInt(count);
        for (int i = 0; i < topicAndPayload.length; i += 2) {
            byte[] t = ((String) topicAndPayload[i]).getBytes(StandardCharsets.UTF_8);
            byte[] p = (byte[]) topicAndPayload[i + 1];
            b.putShort((short) t.length).put(t).putInt(p.length).put(p);
        }
        return b.flip();
    }

    @Test
    void dataRecordsRoundTripInOrder() throws Exception {
        List<String> seen = new ArrayList<>();
        int n = Wire.readData(dataBody(3, "a", new byte[] {1}, "ü", new byte[0], "a", new byte[] {2, 3}),
                (topic, payload) -> seen.add(topic + ":" + payload.remaining() + ":" + payload.isReadOnly()));
        assertThat(n).isEqualTo(3);
        assertThat(seen).containsExactly("a:1:true", "ü:0:true", "a:2:true");
    }

    @Test
    void malformedDataDeliversNothing() {
        List<String> seen = new ArrayList<>();
        Wire.RecordSink sink = (t, p) -> seen.add(t);
        assertThatThrownBy(() -> Wire.readData(dataBody(1_000_000, "a", new byte[] {1}), sink))
                .hasMessageContaining("declares 1000000 records");
        assertThatThrownBy(() -> Wire.readData(dataBody(3, "a", new byte[] {1}, "b", new byte[] {2}), sink))
                .hasMessageContaining("at most 2 fit");
        assertThatThrownBy(() -> Wire.readData(dataBody(1, "a", new byte[] {1}, "b", new byte[] {2}), sink))
                .hasMessageContaining("trailing bytes");
        ByteBuffer lying = dataBody(2, "a", new byte[] {1}, "b", new byte[] {2});
        lying.putInt(lying.limit() - 5, 99); // second payload claims 99 bytes
        assertThatThrownBy(() -> Wire.readData(lying, sink)).hasMessageContaining("beyond frame end");
        ByteBuffer badUtf8 = dataBody(1, "a", new byte[] {1});
        badUtf8.put(6, (byte) 0xC3);
        assertThatThrownBy(() -> Wire.readData(badUtf8, sink)).hasMessageContaining("invalid UTF-8");
        assertThat(seen).isEmpty();
    }

    @Test
    void helloRoundTripAndBadMagic() throws Exception {
        byte[] nonce = new byte[Wire.NONCE];
        nonce[3] = 9;
        ByteBuffer f = Wire.hello("c1", "a", "b", nonce);
        assertThat(f.getInt(0)).isEqualTo(f.remaining() - Wire.HEADER);
        assertThat(Wire.crc(f, f.slice(Wire.HEADER, f.remaining() - Wire.HEADER))).isEqualTo(f.getInt(5));
        Wire.Hello h = Wire.readHello(f.slice(Wire.HEADER, f.remaining() - Wire.HEADER));
        assertThat(h.clusterId()).isEqualTo("c1");
        assertThat(h.from()).isEqualTo("a");
        assertThat(h.to()).isEqualTo("b");
        assertThat(h.nonce()).isEqualTo(nonce);
        ByteBuffer bad = f.slice(Wire.HEADER, f.remaining() - Wire.HEADER);
        bad.put(0, (byte) 'X');
        assertThatThrownBy(() -> Wire.readHello(bad)).hasMessageContaining("bad magic");
    }

    @Test
    void hmacBindsRoleNoncesAndNames() {
        byte[] key = "k".getBytes(StandardCharsets.UTF_8);
        byte[] n1 = new byte[32];
        byte[] n2 = new byte[32];
        n2[0] = 1;
        byte[] base = Wire.hmac(key, "connector", n1, n2, "c", "a", "b");
        assertThat(Wire.macEquals(base, Wire.hmac(key, "connector", n1, n2, "c", "a", "b"))).isTrue();
        assertThat(Wire.macEquals(base, Wire.hmac(key, "acceptor", n1, n2, "c", "a", "b"))).isFalse();
        assertThat(Wire.macEquals(base, Wire.hmac(key, "connector", n2, n1, "c", "a", "b"))).isFalse();
        assertThat(Wire.macEquals(base, Wire.hmac(key, "connector", n1, n2, "c", "b", "a"))).isFalse();
        assertThat(Wire.macEquals(base, Wire.hmac("K".getBytes(StandardCharsets.UTF_8), "connector", n1, n2, "c", "a", "b"))).isFalse();
    }
}
