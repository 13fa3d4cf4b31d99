package org.forestbus.client;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import com.fasterxml.jackson.dataformat.cbor.CBORParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * CBOR helpers for the client side of FORESTBUS-SPEC §6. Requests are written as definite-length
 * maps with text keys; responses are read into a generic tree (Map / List / String / byte[] /
 * Long / Boolean / Double / null), and the typed getters tolerate text or byte strings for both
 * string fields and payloads (§6.5). Stateless, thread-safe.
 */
final class Wire {

    /** Writes one arguments value. */
    @FunctionalInterface
    interface Args {
        void write(CBORGenerator g) throws IOException;
    }

    static final Args EMPTY_ARGS = g -> {
        g.writeStartObject(null, 0);
        g.writeEndObject();
    };

    static final CBORFactory FACTORY = CBORFactory.builder()
            .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
            .disable(StreamWriteFeature.FLUSH_PASSED_TO_STREAM)
            .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .build();

    private Wire() {
    }

    static CBORParser parser(InputStream in) throws IOException {
        return (CBORParser) FACTORY.createParser(in);
    }

    /** Writes a request header {@code {ServiceMethod, Seq}} followed by the arguments; does not flush. */
    static void writeRequest(OutputStream out, String method, long seq, Args args) throws IOException {
        try (CBORGenerator g = (CBORGenerator) FACTORY.createGenerator(out)) {
            g.writeStartObject(null, 2);
            g.writeFieldName("ServiceMethod");
            g.writeString(method);
            g.writeFieldName("Seq");
            g.writeNumberUnsigned(seq);
            g.writeEndObject();
            args.write(g);
        }
    }

    /**
     * Reads the next top-level value, or returns {@link #EOF} at the end of the stream.
     */
    static Object readValue(CBORParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t == null) {
            return EOF;
        }
        return value(p, t, 0);
    }

    /** Marker for the end of the stream. */
    static final Object EOF = new Object();

    private static Object value(CBORParser p, JsonToken t, int depth) throws IOException {
        if (depth > 32) {
            throw new IOException("CBOR value nested too deeply");
        }
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> m = new HashMap<>();
                while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
                    if (t == null) {
                        throw new IOException("stream ended inside a map");
                    }
                    String key = p.currentName();
                    m.put(key, value(p, p.nextToken(), depth + 1));
                }
                return m;
            }
            case START_ARRAY: {
                List<Object> l = new ArrayList<>();
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (t == null) {
                        throw new IOException("stream ended inside an array");
                    }
                    l.add(value(p, t, depth + 1));
                }
                return l;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_EMBEDDED_OBJECT:
                return p.getBinaryValue();
            case VALUE_NUMBER_INT:
                return p.getNumberValue().longValue(); // uint64 above 2^63 wraps: echoed Seq still matches
            case VALUE_NUMBER_FLOAT:
                return p.getDoubleValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            default:
                throw new IOException("unexpected CBOR token " + t);
        }
    }

    // ---- typed getters over the generic tree (missing / null ⇒ zero value, like Go) ----

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return o instanceof Map ? (Map<String, Object>) o : Collections.emptyMap();
    }

    static String string(Map<String, Object> m, String key) {
        Object o = m.get(key);
        if (o instanceof String s) {
            return s;
        }
        if (o instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        return "";
    }

    static long number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    static List<String> strings(Map<String, Object> m, String key) {
        List<String> out = new ArrayList<>();
        if (m.get(key) instanceof List<?> l) {
            for (Object o : l) {
                out.add(o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o));
            }
        }
        return out;
    }

    static List<byte[]> payloads(Map<String, Object> m, String key) {
        List<byte[]> out = new ArrayList<>();
        if (m.get(key) instanceof List<?> l) {
            for (Object o : l) {
                out.add(o instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : o instanceof byte[] b ? b : new byte[0]);
            }
        }
        return out;
    }

    static long[] longs(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof List<?> l)) {
            return null;
        }
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = l.get(i) instanceof Number n ? n.longValue() : 0;
        }
        return out;
    }
}
