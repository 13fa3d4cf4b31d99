package org.forestbus.cbor.internal;

import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Encodes responses byte-for-byte like the 2015 server (FORESTBUS-SPEC §6.5–6.6): definite-length
 * maps with text keys in ascending byte order of the Go field names, every field present, text
 * strings, byte strings for payloads, {@code null} for nil slices, shortest integers.
 * Thread-safe (stateless).
 */
final class WireWriter {

    /** Writes one reply value (the body). */
    @FunctionalInterface
    interface Body {
        void write(CBORGenerator g) throws IOException;
    }

    /** The empty struct {@code a0} sent after an error header. */
    static final Body EMPTY = g -> {
        g.writeStartObject(null, 0);
        g.writeEndObject();
    };

    /** Generators neither close nor flush the target: the connection owns the socket and flushes. */
    private static final CBORFactory FACTORY = CBORFactory.builder()
            .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
            .disable(StreamWriteFeature.FLUSH_PASSED_TO_STREAM)
            .build();

    private WireWriter() {
    }

    /**
     * Writes the response header ({@code Error, Seq, ServiceMethod}) followed by the body (the
     * empty struct when {@code error} is not empty) to {@code out}, without flushing it.
     */
    static void writeResponse(OutputStream out, String serviceMethod, long seq, String error, Body body)
            throws IOException {
        try (CBORGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject(null, 3);
            g.writeFieldName("Error");
            g.writeString(error);
            g.writeFieldName("Seq");
            g.writeNumberUnsigned(seq); // uint64: 2^63 and above stay major type 0
            g.writeFieldName("ServiceMethod");
            g.writeString(serviceMethod);
            g.writeEndObject();
            (error.isEmpty() ? body : EMPTY).write(g);
        }
    }

    /** {@code ResultInfo}: {@code Code, Description, Extra1}. */
    record ResultInfo(int code, String description, String extra1) {
        static final ResultInfo SUCCESS = new ResultInfo(0, "Success", "");

        void write(CBORGenerator g) throws IOException {
            g.writeStartObject(null, 3);
            g.writeFieldName("Code");
            g.writeNumber(code);
            g.writeFieldName("Description");
            g.writeString(description);
            g.writeFieldName("Extra1");
            g.writeString(extra1);
            g.writeEndObject();
        }
    }

    /** {@code SendMessagesResults}: {@code IDs, Result}; {@code ids} null encodes as nil. */
    static Body sendResults(ResultInfo result, long[] ids) {
        return g -> {
            g.writeStartObject(null, 2);
            g.writeFieldName("IDs");
            if (ids == null) {
                g.writeNull();
            } else {
                g.writeStartArray(null, ids.length);
                for (long id : ids) {
                    g.writeNumber(id);
                }
                g.writeEndArray();
            }
            g.writeFieldName("Result");
            result.write(g);
            g.writeEndObject();
        };
    }

    /** {@code ReceiveMessagesResults}: {@code NextID, ReceivedMessages, Result}; {@code messages} null encodes as nil. */
    static Body receiveResults(ResultInfo result, List<ByteBuffer> messages, long nextId) {
        return g -> {
            g.writeStartObject(null, 3);
            g.writeFieldName("NextID");
            g.writeNumber(nextId);
            g.writeFieldName("ReceivedMessages");
            if (messages == null) {
                g.writeNull();
            } else {
                g.writeStartArray(null, messages.size());
                for (ByteBuffer m : messages) {
                    ByteBuffer b = m.duplicate();
                    if (b.hasArray()) {
                        g.writeBinary(b.array(), b.arrayOffset() + b.position(), b.remaining());
                    } else {
                        byte[] copy = new byte[b.remaining()];
                        b.get(copy);
                        g.writeBinary(copy);
                    }
                }
                g.writeEndArray();
            }
            g.writeFieldName("Result");
            result.write(g);
            g.writeEndObject();
        };
    }

    /** {@code GetClusterDetailsResults}: {@code ClusterID, Peers, Result, Topics}. */
    static Body clusterResults(ResultInfo result, String clusterId, List<String> peers, List<String> topics) {
        return g -> {
            g.writeStartObject(null, 4);
            g.writeFieldName("ClusterID");
            g.writeString(clusterId);
            g.writeFieldName("Peers");
            writeStrings(g, peers);
            g.writeFieldName("Result");
            result.write(g);
            g.writeFieldName("Topics");
            writeStrings(g, topics);
            g.writeEndObject();
        };
    }

    /** {@code GetTopicDetailsResults}: {@code CommitIndex, FirstIndex, LastIndex, Result}. */
    static Body topicResults(ResultInfo result, long firstIndex, long lastIndex, long commitIndex) {
        return g -> {
            g.writeStartObject(null, 4);
            g.writeFieldName("CommitIndex");
            g.writeNumber(commitIndex);
            g.writeFieldName("FirstIndex");
            g.writeNumber(firstIndex);
            g.writeFieldName("LastIndex");
            g.writeNumber(lastIndex);
            g.writeFieldName("Result");
            result.write(g);
            g.writeEndObject();
        };
    }

    private static void writeStrings(CBORGenerator g, List<String> values) throws IOException {
        if (values == null) {
            g.writeNull();
            return;
        }
        g.writeStartArray(null, values.size());
        for (String s : values) {
            g.writeString(s);
        }
        g.writeEndArray();
    }
}
