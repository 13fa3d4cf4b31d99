package org.forestbus.cbor.internal;

import com.fasterxml.jackson.core.JsonParser.NumberType;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Tolerant decoding of Go {@code net/rpc} structs from a CBOR token stream, as the 2015 ugorji
 * codec accepted them (FORESTBUS-SPEC §6.5, §6.7): struct from map (unknown keys skipped,
 * missing keys zero) or from array (declaration order); string fields from text or byte strings
 * (byte strings UTF-8-decoded, never Base64); {@code []byte} fields from byte or text strings;
 * {@code null} gives the zero value; integers must be major type 0/1.
 *
 * <p>A value of the wrong type does not abort decoding: it is skipped whole, the first problem is
 * remembered ({@link #problem()}) and decoding continues, so the stream stays in sync and the
 * server can answer with an RPC error and keep reading. Malformed CBOR and broken limits throw.
 *
 * <p>Every string is checked against the remaining request budget from its declared length
 * before its content is read. Not thread-safe: used by one connection's reader thread.
 */
final class WireReader {

    /** Consumes the value of one struct field; {@code t} is the value's first token. */
    @FunctionalInterface
    interface FieldSink {
        void field(String name, JsonToken t) throws IOException;
    }

    private final BoundedCborParser p;
    private long budgetEnd = Long.MAX_VALUE;
    private long decodedLeft = Long.MAX_VALUE;
    private long decodedLimit = Long.MAX_VALUE;
    private String problem;
    private int maxListItems = Integer.MAX_VALUE;

    WireReader(BoundedCborParser p) {
        this.p = p;
    }

    /** Stream position of the next unread item. */
    long position() {
        return p.position();
    }

    /** Strings must end by stream position {@code end} (the current request's limit). */
    void budgetEnd(long end) {
        this.budgetEnd = end;
    }

    /**
     * Starts a value whose decoded strings may total at most {@code limit} bytes. Guards against
     * amplification: CBOR string references (tags 256/25) let a few wire bytes repeat a long string.
     */
    void decodedLimit(long limit) {
        this.decodedLimit = limit;
        this.decodedLeft = limit;
    }

    /** Next top-level token, or {@code null} at a clean end of stream. */
    JsonToken next() throws IOException {
        return p.nextToken();
    }

    /**
     * Longest {@code [][]byte} list kept ({@code max.messages.per.request}): further items are
     * skipped unread (no array per item) and the list is reported as a problem.
     */
    void maxListItems(int max) {
        maxListItems = max;
    }

    /** Forgets the problem of the previous value. */
    void resetProblem() {
        problem = null;
    }

    /** The first type mismatch seen since {@link #resetProblem()}, or {@code null}. */
    String problem() {
        return problem;
    }

    /**
     * Reads a struct whose first token is {@code t} (map, array or null), calling {@code sink} for
     * each field; fields in {@code order} name array positions. The sink must consume the value
     * (any {@code read*} method or {@link #skip}). Returns false (after skipping the value) when
     * the value is not a struct at all.
     */
    boolean readStruct(JsonToken t, String[] order, FieldSink sink) throws IOException {
        if (t == JsonToken.START_OBJECT) {
            JsonToken k;
            while ((k = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                sink.field(name, p.nextToken());
            }
            expect(k, JsonToken.END_OBJECT);
            return true;
        }
        if (t == JsonToken.START_ARRAY) {
            JsonToken v;
            int i = 0;
            while ((v = p.nextToken()) != JsonToken.END_ARRAY) {
                if (v == null) {
                    throw new IOException("unexpected end of stream in array");
                }
                if (i < order.length) {
                    sink.field(order[i], v);
                } else {
                    skip(v);
                }
                i++;
            }
            return true;
        }
        if (t == JsonToken.VALUE_NULL) {
            return true;
        }
        mismatch("struct", t);
        return false;
    }

    String readString(JsonToken t) throws IOException {
        switch (t) {
            case VALUE_STRING:
                checkDeclaredLength();
                return decoded(p.getText());
            case VALUE_EMBEDDED_OBJECT:
                byte[] b = binary();
                return b == null ? "" : new String(b, StandardCharsets.UTF_8);
            case VALUE_NULL:
                return "";
            default:
                mismatch("string", t);
                return "";
        }
    }

    /** A {@code []byte} field; {@code null} for CBOR null. */
    byte[] readBytes(JsonToken t) throws IOException {
        switch (t) {
            case VALUE_EMBEDDED_OBJECT:
                byte[] b = binary();
                return b == null ? new byte[0] : b;
            case VALUE_STRING:
                checkDeclaredLength();
                return decoded(p.getText().getBytes(StandardCharsets.UTF_8));
            case VALUE_NULL:
                return null;
            default:
                mismatch("bytes", t);
                return null;
        }
    }

    /** A {@code [][]byte} field; {@code null} for CBOR null. Null elements become empty arrays. */
    List<byte[]> readBytesList(JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.START_ARRAY) {
            mismatch("array of bytes", t);
            return null;
        }
        List<byte[]> out = new ArrayList<>(); // never presized from the declared count
        long items = 0;
        JsonToken v;
        while ((v = p.nextToken()) != JsonToken.END_ARRAY) {
            if (v == null) {
                throw new IOException("unexpected end of stream in array");
            }
            if (++items > maxListItems) {
                skip(v); // in sync with the stream, nothing kept
                continue;
            }
            byte[] b = readBytes(v);
            out.add(b == null ? new byte[0] : b);
        }
        if (items > maxListItems) {
            problem("more than " + maxListItems + " messages in one request (max.messages.per.request): " + items);
            return null;
        }
        return out;
    }

    /** A signed 64-bit integer field (Go int/int64). */
    long readLong(JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_NULL) {
            return 0;
        }
        if (t != JsonToken.VALUE_NUMBER_INT) {
            mismatch("integer", t);
            return 0;
        }
        if (p.getNumberType() == NumberType.BIG_INTEGER) {
            BigInteger v = p.getBigIntegerValue();
            if (v.bitLength() > 63) {
                problem("integer overflow: " + v);
                return 0;
            }
            return v.longValue();
        }
        return p.getLongValue();
    }

    /** An unsigned 64-bit integer field (Go uint64, e.g. {@code Seq}), as its two's-complement long. */
    long readUnsignedLong(JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == NumberType.BIG_INTEGER) {
            BigInteger v = p.getBigIntegerValue();
            if (v.signum() < 0 || v.bitLength() > 64) {
                problem("unsigned integer overflow: " + v);
                return 0;
            }
            return v.longValue();
        }
        long v = readLong(t);
        if (v < 0) {
            problem("negative value for unsigned integer: " + v);
            return 0;
        }
        return v;
    }

    boolean readBool(JsonToken t) throws IOException {
        switch (t) {
            case VALUE_TRUE:
                return true;
            case VALUE_FALSE:
            case VALUE_NULL:
                return false;
            default:
                mismatch("bool", t);
                return false;
        }
    }

    /** Skips a whole value whose first token is {@code t}, without decoding string contents. */
    void skip(JsonToken t) throws IOException {
        if (t == null) {
            throw new IOException("unexpected end of stream");
        }
        if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
            // skipChildren would not check string lengths, but the stream window bounds it
            p.skipChildren();
        } else {
            checkDeclaredLength();
        }
    }

    private byte[] binary() throws IOException {
        checkDeclaredLength();
        Object o = p.getEmbeddedObject();
        if (o == null) {
            return null;
        }
        if (o instanceof byte[] b) {
            return decoded(b);
        }
        problem("unexpected tagged value " + o.getClass().getSimpleName());
        return null;
    }

    private String decoded(String s) throws IOException {
        consume(s.length());
        return s;
    }

    private byte[] decoded(byte[] b) throws IOException {
        consume(b.length);
        return b;
    }

    private void consume(long n) throws IOException {
        decodedLeft -= n;
        if (decodedLeft < 0) {
            throw new RequestTooLargeException("decoded strings exceed " + decodedLimit + " bytes");
        }
    }

    private void checkDeclaredLength() throws IOException {
        long len = p.declaredLength();
        if (len > budgetEnd - p.position()) {
            throw new RequestTooLargeException("string of declared length " + Long.toUnsignedString(len)
                    + " exceeds the request limit");
        }
    }

    private void mismatch(String wanted, JsonToken t) throws IOException {
        problem("cannot decode " + t + " into " + wanted);
        skip(t);
    }

    private void problem(String what) {
        if (problem == null) {
            problem = what;
        }
    }

    private static void expect(JsonToken got, JsonToken wanted) throws IOException {
        if (got != wanted) {
            throw new IOException("expected " + wanted + " but got " + got);
        }
    }
}
