package org.forestbus.itests;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The original clients' CBOR-RPC bytes against the node of the README's run command (the real
 * distribution): requests are assembled by hand here, in both dialects — Go/ugorji (text keys
 * and strings) and the Python 2 client (everything as byte strings, FORESTBUS-SPEC §6.7) — and
 * answers are decoded with a generic CBOR reader (two values per reply: header, body).
 */
public class CborWireIT {

    private static NodeProcess node;

    @BeforeClass
    public static void startNode() throws Exception {
        node = new NodeProcess().start();
    }

    @AfterClass
    public static void stopNode() {
        node.close();
    }

    @Test
    public void goDialect() throws Exception {
        exercise(false);
    }

    @Test
    public void python2ByteStringDialect() throws Exception {
        exercise(true);
    }

    private void exercise(boolean byteStrings) throws Exception {
        String dialect = byteStrings ? "python2" : "go";
        try (Socket socket = new Socket("127.0.0.1", node.cborPort)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();

            // cluster details (the reader is made after the first request: it reads a token at once)
            out.write(request(byteStrings, "GetClusterDetails", 1, Map.of()));
            MappingIterator<JsonNode> in = new ObjectMapper(new CBORFactory()).readerFor(JsonNode.class)
                    .readValues(socket.getInputStream());
            Reply r = read(in);
            assertEquals(1, r.seq);
            assertEquals(0, r.body.get("Result").get("Code").asInt());
            assertTrue(r.body.toString(), r.body.get("Topics").toString().contains("default"));

            // send with wait-for-commit, exact byte payloads back
            byte[] p1 = {0, 1, 2, (byte) 0xff, (byte) 0xfe, 'x'};
            byte[] p2 = (dialect + " \u00e9").getBytes(UTF_8);
            Map<String, Object> send = new LinkedHashMap<>();
            send.put("Topic", "default");
            send.put("SentMessages", List.of(p1, p2));
            send.put("WaitForCommit", true);
            out.write(request(byteStrings, "SendMessages", 2, send));
            r = read(in);
            assertEquals(2, r.seq);
            assertEquals(r.body.toString(), 0, r.body.get("Result").get("Code").asInt());
            long first = r.body.get("IDs").get(0).asLong();
            assertEquals(first + 1, r.body.get("IDs").get(1).asLong());

            out.write(request(byteStrings, "ReceiveMessages", 3, receive("default", first, 10, false)));
            r = read(in);
            assertEquals(0, r.body.get("Result").get("Code").asInt());
            assertArrayEquals(p1, r.body.get("ReceivedMessages").get(0).binaryValue());
            assertArrayEquals(p2, r.body.get("ReceivedMessages").get(1).binaryValue());
            assertEquals(first + 2, r.body.get("NextID").asLong());

            // a long poll, then a later request on the same connection: the later one is answered first
            out.write(request(byteStrings, "ReceiveMessages", 4, receive("default", first + 2, 10, true)));
            out.write(request(byteStrings, "GetTopicDetails", 5, Map.of("Topic", "default")));
            r = read(in);
            assertEquals("the request behind the long poll is answered first", 5, r.seq);
            assertEquals(first + 1, r.body.get("CommitIndex").asLong());
            Map<String, Object> wake = new LinkedHashMap<>();
            wake.put("Topic", "default");
            wake.put("SentMessages", List.of("wake".getBytes(UTF_8)));
            wake.put("WaitForCommit", true);
            out.write(request(byteStrings, "SendMessages", 6, wake));
            Reply a = read(in);
            Reply b = read(in);
            Reply poll = a.seq == 4 ? a : b;
            assertEquals(4, poll.seq);
            assertArrayEquals("wake".getBytes(UTF_8), poll.body.get("ReceivedMessages").get(0).binaryValue());

            // unknown topic: code 2 for details and (a deliberate fix) for receive
            out.write(request(byteStrings, "GetTopicDetails", 7, Map.of("Topic", "no-such-topic")));
            assertEquals(2, read(in).body.get("Result").get("Code").asInt());
            out.write(request(byteStrings, "ReceiveMessages", 8, receive("no-such-topic", 1, 1, false)));
            assertEquals(2, read(in).body.get("Result").get("Code").asInt());

            // unknown method: header Error set, empty body, connection goes on
            out.write(request(byteStrings, "Nope", 9, Map.of()));
            r = read(in);
            assertTrue(r.error, r.error.contains("RPCHandler.Nope"));
            out.write(request(byteStrings, "GetTopicDetails", 10, Map.of("Topic", "default")));
            assertEquals(0, read(in).body.get("Result").get("Code").asInt());
            System.out.println("cbor-rpc dialect=" + dialect + " against the real node: ok");
        }
    }

    private static Map<String, Object> receive(String topic, long id, int quantity, boolean wait) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ClusterID", "");
        m.put("Topic", topic);
        m.put("ID", id);
        m.put("Quantity", quantity);
        m.put("WaitForMessages", wait);
        return m;
    }

    private record Reply(long seq, String error, JsonNode body) {
    }

    private static Reply read(MappingIterator<JsonNode> in) {
        JsonNode header = in.next();
        JsonNode body = in.next();
        return new Reply(header.get("Seq").asLong(), header.get("Error").asText(), body);
    }

    /** Header {ServiceMethod, Seq} then the arguments map, as one write. */
    private static byte[] request(boolean byteStrings, String method, long seq, Map<String, Object> args) {
        Cbor c = new Cbor(byteStrings);
        c.head(5, 2);
        c.string("ServiceMethod");
        c.string("RPCHandler." + method);
        c.string("Seq");
        c.head(0, seq);
        c.value(args);
        return c.out.toByteArray();
    }

    /** Minimal CBOR writer: definite lengths; strings as text (Go) or byte strings (Python 2). */
    private static final class Cbor {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final boolean byteStrings;

        Cbor(boolean byteStrings) {
            this.byteStrings = byteStrings;
        }

        void head(int major, long v) {
            int m = major << 5;
            if (v < 24) {
                out.write(m | (int) v);
            } else if (v < 256) {
                out.write(m | 24);
                out.write((int) v);
            } else if (v < 65536) {
                out.write(m | 25);
                out.write((int) (v >> 8));
                out.write((int) v);
            } else {
                out.write(m | 27);
                for (int i = 7; i >= 0; i--) {
                    out.write((int) (v >> (8 * i)));
                }
            }
        }

        void string(String s) {
            byte[] b = s.getBytes(UTF_8);
            head(byteStrings ? 2 : 3, b.length);
            out.writeBytes(b);
        }

        @SuppressWarnings("unchecked")
        void value(Object v) {
            if (v instanceof String s) {
                string(s);
            } else if (v instanceof byte[] b) {
                head(2, b.length);
                out.writeBytes(b);
            } else if (v instanceof Boolean bool) {
                out.write(bool ? 0xf5 : 0xf4);
            } else if (v instanceof Number n) {
                head(0, n.longValue());
            } else if (v instanceof List<?> l) {
                head(4, l.size());
                l.forEach(this::value);
            } else if (v instanceof Map<?, ?> m) {
                head(5, m.size());
                ((Map<String, Object>) m).forEach((k, x) -> {
                    string(k);
                    value(x);
                });
            } else {
                throw new IllegalArgumentException(String.valueOf(v));
            }
        }
    }
}
