package org.forestbus.http.internal;

import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.forestbus.api.ReadResult;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicStatus;

/**
 * Request parsing and response writing for the two body formats, JSON and CBOR, with Jackson's
 * streaming API (one code path: the CBOR factory yields the same token stream, byte strings
 * appear as {@code VALUE_EMBEDDED_OBJECT}). Thread-safe: the factories are immutable after
 * construction and every call uses its own parser/generator.
 */
final class Wire {

    /** How payloads travel inside JSON strings. CBOR always uses byte strings on output. */
    enum Encoding {
        UTF8, BASE64;

        static Encoding parse(String s) {
            if (s == null) {
                return UTF8;
            }
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "utf8", "utf-8" -> UTF8;
                case "base64" -> BASE64;
                default -> throw HttpError.badRequest("unknown encoding '" + s + "'; use utf8 or base64");
            };
        }
    }

    /** A parsed send body: payloads, and waitForCommit if the body named it. */
    record SendBody(List<byte[]> payloads, Boolean waitForCommit) {
    }

    private final JsonFactory json;
    private final CBORFactory cbor;
    private final int maxMessagesPerRequest;

    Wire(long maxRequestBytes, int maxMessagesPerRequest) {
        this.maxMessagesPerRequest = maxMessagesPerRequest;
        // A single string may be as long as the whole body: lift Jackson's default string cap
        // (20 M chars) when the body limit is larger, so only our limit (413) applies.
        StreamReadConstraints src = StreamReadConstraints.builder()
                .maxStringLength((int) Math.max(StreamReadConstraints.DEFAULT_MAX_STRING_LEN,
                        Math.min(Integer.MAX_VALUE, maxRequestBytes)))
                .build();
        this.json = JsonFactory.builder().streamReadConstraints(src).build();
        this.cbor = CBORFactory.builder().streamReadConstraints(src).build();
    }

    // ------------------------------------------------------------------ parsing

    /**
     * Parses {@code {"messages": [...], "encoding": "utf8"|"base64", "waitForCommit": bool}}.
     * Unknown fields are ignored. In CBOR a message may be a byte string (taken as is) or a text
     * string (decoded per {@code encoding}).
     *
     * @throws HttpError 400 on malformed input or an empty list, 413 beyond max.messages.per.request
     */
    SendBody parseSend(byte[] body, int length, boolean isCbor) {
        List<Object> raw = null; // String or byte[], decoded once the encoding is known
        Encoding encoding = Encoding.UTF8;
        Boolean waitForCommit = null;
        try (JsonParser p = (isCbor ? cbor : json).createParser(body, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw HttpError.badRequest("the body must be an object with a \"messages\" array");
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                switch (field) {
                    case "messages" -> raw = parseMessages(p, v);
                    case "encoding" -> {
                        if (v != JsonToken.VALUE_STRING) {
                            throw HttpError.badRequest("\"encoding\" must be a string: utf8 or base64");
                        }
                        encoding = Encoding.parse(p.getText());
                    }
                    case "waitForCommit" -> {
                        if (v != JsonToken.VALUE_TRUE && v != JsonToken.VALUE_FALSE) {
                            throw HttpError.badRequest("\"waitForCommit\" must be true or false");
                        }
                        waitForCommit = v == JsonToken.VALUE_TRUE;
                    }
                    default -> p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw HttpError.badRequest("malformed " + (isCbor ? "CBOR" : "JSON") + " body: trailing content");
            }
        } catch (StreamReadException e) {
            throw HttpError.badRequest("malformed " + (isCbor ? "CBOR" : "JSON") + " body: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw HttpError.badRequest("malformed " + (isCbor ? "CBOR" : "JSON") + " body: " + e.getMessage());
        }
        if (raw == null) {
            throw HttpError.badRequest("the body has no \"messages\" array");
        }
        if (raw.isEmpty()) {
            throw HttpError.badRequest("\"messages\" is empty; send at least one message");
        }
        List<byte[]> payloads = new ArrayList<>(raw.size());
        for (int i = 0; i < raw.size(); i++) {
            Object o = raw.get(i);
            if (o instanceof byte[] b) {
                payloads.add(b);
            } else if (encoding == Encoding.UTF8) {
                payloads.add(((String) o).getBytes(StandardCharsets.UTF_8));
            } else {
                try {
                    payloads.add(Base64.getDecoder().decode((String) o));
                } catch (IllegalArgumentException e) {
                    throw HttpError.badRequest("message " + i + " is not valid base64: " + e.getMessage());
                }
            }
            raw.set(i, null); // let the source string go as soon as it is decoded
        }
        return new SendBody(payloads, waitForCommit);
    }

    private List<Object> parseMessages(JsonParser p, JsonToken v) throws IOException {
        if (v != JsonToken.START_ARRAY) {
            throw HttpError.badRequest("\"messages\" must be an array of strings");
        }
        List<Object> out = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (out.size() == maxMessagesPerRequest) {
                throw HttpError.tooLarge("the number of messages", maxMessagesPerRequest, "messages per request",
                        "max.messages.per.request");
            }
            if (t == JsonToken.VALUE_STRING) {
                out.add(p.getText());
            } else if (t == JsonToken.VALUE_EMBEDDED_OBJECT && p.getEmbeddedObject() instanceof byte[] b) {
                out.add(b);
            } else {
                throw HttpError.badRequest("message " + out.size() + " is not a string"
                        + (p instanceof com.fasterxml.jackson.dataformat.cbor.CBORParser ? " or byte string" : ""));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ writing

    @FunctionalInterface
    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    /** Writes one document into a buffer sized by {@code sizeHint}; the result wraps it (no copy). */
    ByteBuffer write(boolean isCbor, int sizeHint, Body body) {
        Out out = new Out(Math.max(256, sizeHint));
        try (JsonGenerator g = (isCbor ? cbor : json).createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory output: only a bug gets here
        }
        return out.toByteBuffer();
    }

    ByteBuffer ids(boolean isCbor, long[] ids) {
        return write(isCbor, 16 + ids.length * 12, g -> {
            g.writeStartObject();
            g.writeFieldName("ids");
            g.writeArray(ids, 0, ids.length);
            g.writeEndObject();
        });
    }

    /**
     * {@code {"messages":[{"id":N,"data":...}],"nextId":K}}. JSON data is a UTF-8 string (bytes
     * that are not valid UTF-8 become U+FFFD; readers needing exact bytes use base64 or CBOR) or
     * base64; CBOR data is a byte string. Payloads are streamed from the batch's buffers.
     */
    ByteBuffer messages(boolean isCbor, ReadResult r, Encoding encoding) {
        List<ByteBuffer> payloads = r.messages().payloads();
        long bytes = r.messages().payloadBytes();
        long hint = 32 + payloads.size() * 32L + (encoding == Encoding.BASE64 && !isCbor ? bytes * 4 / 3 : bytes);
        return write(isCbor, (int) Math.min(hint, Integer.MAX_VALUE - 64), g -> {
            g.writeStartObject();
            g.writeFieldName("messages");
            g.writeStartArray(null, payloads.size());
            long id = r.firstIndex();
            Utf8 utf8 = isCbor || encoding != Encoding.UTF8 ? null : new Utf8();
            for (ByteBuffer p : payloads) {
                g.writeStartObject();
                g.writeNumberField("id", id++);
                g.writeFieldName("data");
                if (utf8 != null) {
                    utf8.write(g, p);
                } else {
                    g.writeBinary(Base64Variants.MIME_NO_LINEFEEDS, new BufferInput(p), p.remaining());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNumberField("nextId", r.nextIndex());
            g.writeEndObject();
        });
    }

    ByteBuffer status(boolean isCbor, TopicStatus s) {
        return write(isCbor, 160, g -> writeStatus(g, s));
    }

    ByteBuffer topics(boolean isCbor, List<TopicStatus> all) {
        return write(isCbor, 64 + all.size() * 160, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("topics");
            for (TopicStatus s : all) {
                writeStatus(g, s);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    ByteBuffer cluster(boolean isCbor, String clusterId, String node, List<String> peers, List<String> topics) {
        return write(isCbor, 256, g -> {
            g.writeStartObject();
            g.writeStringField("clusterId", clusterId);
            g.writeStringField("node", node);
            writeStrings(g, "peers", peers);
            writeStrings(g, "topics", topics);
            g.writeEndObject();
        });
    }

    /** {@code {"voters":[..],"learners":[..],"configIndex":N,"replicated":{"node":index,..}}} */
    ByteBuffer members(boolean isCbor, TopicMembers m) {
        return write(isCbor, 128 + 32 * (m.voters().size() + m.learners().size()), g -> {
            g.writeStartObject();
            writeStrings(g, "voters", m.voters());
            writeStrings(g, "learners", m.learners());
            g.writeNumberField("configIndex", m.configIndex());
            g.writeObjectFieldStart("replicated");
            for (java.util.Map.Entry<String, Long> e : new java.util.TreeMap<>(m.matchIndexes()).entrySet()) {
                g.writeNumberField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** {@code {"leader":"node"}} */
    ByteBuffer leader(boolean isCbor, String leader) {
        return write(isCbor, 64, g -> {
            g.writeStartObject();
            g.writeStringField("leader", leader);
            g.writeEndObject();
        });
    }

    ByteBuffer health(boolean isCbor) {
        return write(isCbor, 32, g -> {
            g.writeStartObject();
            g.writeStringField("status", "ok");
            g.writeEndObject();
        });
    }

    ByteBuffer error(boolean isCbor, HttpError e) {
        return write(isCbor, 128, g -> {
            g.writeStartObject();
            g.writeNumberField("code", e.code.wireCode());
            g.writeStringField("error", e.getMessage());
            g.writeStringField("leader", e.leader); // null when none
            g.writeEndObject();
        });
    }

    private static void writeStatus(JsonGenerator g, TopicStatus s) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", s.name());
        g.writeNumberField("firstIndex", s.firstIndex());
        g.writeNumberField("lastIndex", s.lastIndex());
        g.writeNumberField("commitIndex", s.commitIndex());
        g.writeNumberField("term", s.term());
        g.writeStringField("role", s.role() == null ? null : s.role().label());
        g.writeStringField("leader", s.leader());
        g.writeEndObject();
    }

    private static void writeStrings(JsonGenerator g, String field, List<String> values) throws IOException {
        g.writeArrayFieldStart(field);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    /**
     * Writes payloads as JSON strings through reused buffers, so a response allocates no
     * per-message strings: ASCII payloads (the common case) go out as bytes via
     * {@code writeUTF8String}; others are decoded (malformed input becomes U+FFFD).
     */
    private static final class Utf8 {
        private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        private byte[] bytes = new byte[256];
        private CharBuffer chars = CharBuffer.allocate(256);

        void write(JsonGenerator g, ByteBuffer payload) throws IOException {
            int n = payload.remaining();
            if (bytes.length < n) {
                bytes = new byte[Math.max(n, bytes.length * 2)];
            }
            payload.duplicate().get(bytes, 0, n);
            if (isAscii(bytes, n)) {
                g.writeUTF8String(bytes, 0, n); // escapes quotes and control characters
                return;
            }
            if (chars.capacity() < n) { // UTF-8 never decodes to more chars than bytes
                chars = CharBuffer.allocate(Math.max(n, chars.capacity() * 2));
            }
            chars.clear();
            decoder.reset();
            decoder.decode(ByteBuffer.wrap(bytes, 0, n), chars, true);
            decoder.flush(chars);
            g.writeString(chars.array(), 0, chars.position());
        }

        private static boolean isAscii(byte[] b, int n) {
            for (int i = 0; i < n; i++) {
                if (b[i] < 0) {
                    return false;
                }
            }
            return true;
        }
    }

    /** An InputStream over a ByteBuffer view, for Jackson's streaming writeBinary. */
    private static final class BufferInput extends InputStream {
        private final ByteBuffer b;

        BufferInput(ByteBuffer b) {
            this.b = b.duplicate();
        }

        @Override
        public int read() {
            return b.hasRemaining() ? b.get() & 0xff : -1;
        }

        @Override
        public int read(byte[] dst, int off, int len) {
            if (!b.hasRemaining()) {
                return -1;
            }
            int n = Math.min(len, b.remaining());
            b.get(dst, off, n);
            return n;
        }

        @Override
        public int available() {
            return b.remaining();
        }
    }

    /** A ByteArrayOutputStream whose bytes are handed out without the final copy. */
    private static final class Out extends ByteArrayOutputStream {
        Out(int size) {
            super(size);
        }

        ByteBuffer toByteBuffer() {
            return ByteBuffer.wrap(buf, 0, count);
        }
    }
}
