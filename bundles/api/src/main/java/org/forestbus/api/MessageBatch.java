package org.forestbus.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32;

/**
 * One or more messages in the Forest Bus v0 format, back to back, exactly as they are stored
 * on disk and sent between nodes. Each message is a 17-byte little-endian header
 * ({@code version:u8 = 0, length:i32, term:i64, crc32(payload):u32}) followed by the payload.
 * A batch has no header of its own; its message count is derived by walking the headers.
 *
 * <p>The same bytes move from socket to disk to socket: storage writes {@link #buffer()} as is
 * and reads hand back a batch over the bytes it read.
 *
 * <p>Not thread-safe while {@link #stampTerm(long)} runs; otherwise immutable.
 */
public final class MessageBatch {

    /** Bytes of a message header. */
    public static final int HEADER_SIZE = 17;
    /** The only supported format version (first header byte). */
    public static final byte FORMAT_VERSION = 0;
    /** Largest payload one message may carry (limit of this implementation): 64 MiB. */
    public static final int MAX_PAYLOAD_BYTES = 64 << 20;

    private static final MessageBatch EMPTY = new MessageBatch(ByteBuffer.allocate(0), 0);

    private final ByteBuffer bytes; // position 0, limit = size, little-endian, private view
    private final int count;

    private MessageBatch(ByteBuffer bytes, int count) {
        this.bytes = bytes;
        this.count = count;
    }

    /** The empty batch. */
    public static MessageBatch empty() {
        return EMPTY;
    }

    /** Builds a batch (term 0, CRCs computed) from payloads. */
    public static MessageBatch of(List<byte[]> payloads) {
        long total = 0;
        for (byte[] p : payloads) {
            checkPayloadSize(p.length);
            total += HEADER_SIZE + p.length;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new MalformedBatchException("batch too large: " + total + " bytes");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        CRC32 crc = new CRC32();
        for (byte[] p : payloads) {
            crc.reset();
            crc.update(p);
            buf.put(FORMAT_VERSION).putInt(p.length).putLong(0L).putInt((int) crc.getValue()).put(p);
        }
        buf.flip();
        return new MessageBatch(buf, payloads.size());
    }

    /** Builds a one-message batch. */
    public static MessageBatch of(byte[] payload) {
        return of(List.of(payload));
    }

    /**
     * Wraps bytes that must hold whole v0 messages (from the buffer's position to its limit).
     * Structure is checked (version byte, lengths); checksums are not — see {@link #verifyChecksums()}.
     *
     * @throws MalformedBatchException on a bad version byte, a negative or oversized length,
     *                                 or a partial trailing message
     */
    public static MessageBatch wrap(ByteBuffer records) {
        ByteBuffer b = records.slice().order(ByteOrder.LITTLE_ENDIAN);
        int n = 0;
        int pos = 0;
        int limit = b.limit();
        while (pos < limit) {
            if (limit - pos < HEADER_SIZE) {
                throw new MalformedBatchException("partial message header at byte " + pos);
            }
            if (b.get(pos) != FORMAT_VERSION) {
                throw new MalformedBatchException("unsupported message format " + b.get(pos) + " at byte " + pos);
            }
            int len = b.getInt(pos + 1);
            if (len < 0 || len > MAX_PAYLOAD_BYTES) {
                throw new MalformedBatchException("bad message length " + len + " at byte " + pos);
            }
            if (len > limit - pos - HEADER_SIZE) {
                throw new MalformedBatchException("partial message at byte " + pos);
            }
            pos += HEADER_SIZE + len;
            n++;
        }
        return new MessageBatch(b, n);
    }

    /**
     * Wraps bytes already known to hold exactly {@code count} whole messages (for storage
     * implementations that walked them while reading). No checks.
     */
    public static MessageBatch wrapTrusted(ByteBuffer records, int count) {
        return new MessageBatch(records.slice().order(ByteOrder.LITTLE_ENDIAN), count);
    }

    /** Number of messages. */
    public int count() {
        return count;
    }

    /** Total bytes, headers included. */
    public int sizeBytes() {
        return bytes.limit();
    }

    public boolean isEmpty() {
        return count == 0;
    }

    /** A read-only view of the bytes, position 0, little-endian. */
    public ByteBuffer buffer() {
        return bytes.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Writes {@code term} into every header, in place (CRCs do not cover the term). Returns this batch. */
    public MessageBatch stampTerm(long term) {
        int pos = 0;
        for (int i = 0; i < count; i++) {
            bytes.putLong(pos + 5, term);
            pos += HEADER_SIZE + bytes.getInt(pos + 1);
        }
        return this;
    }

    /** Term of the message at {@code i} (0-based). */
    public long term(int i) {
        return bytes.getLong(offset(i) + 5);
    }

    /** Term of the last message; 0 for the empty batch. */
    public long lastTerm() {
        return count == 0 ? 0 : term(count - 1);
    }

    /** Byte offset of message {@code i} (0-based) in this batch; {@code count()} gives {@link #sizeBytes()}. */
    public int offset(int i) {
        if (i < 0 || i > count) {
            throw new IndexOutOfBoundsException(i);
        }
        int pos = 0;
        for (int k = 0; k < i; k++) {
            pos += HEADER_SIZE + bytes.getInt(pos + 1);
        }
        return pos;
    }

    /** Messages {@code from} (inclusive) to {@code to} (exclusive), sharing these bytes. */
    public MessageBatch slice(int from, int to) {
        if (from < 0 || to > count || from > to) {
            throw new IndexOutOfBoundsException(from + ".." + to + " of " + count);
        }
        if (from == 0 && to == count) {
            return this;
        }
        int start = offset(from);
        int pos = start;
        for (int k = from; k < to; k++) {
            pos += HEADER_SIZE + bytes.getInt(pos + 1);
        }
        return new MessageBatch(bytes.slice(start, pos - start).order(ByteOrder.LITTLE_ENDIAN), to - from);
    }

    /** Read-only views of each payload, in order, sharing these bytes. */
    public List<ByteBuffer> payloads() {
        if (count == 0) {
            return Collections.emptyList();
        }
        List<ByteBuffer> out = new ArrayList<>(count);
        int pos = 0;
        for (int i = 0; i < count; i++) {
            int len = bytes.getInt(pos + 1);
            out.add(bytes.slice(pos + HEADER_SIZE, len).asReadOnlyBuffer());
            pos += HEADER_SIZE + len;
        }
        return out;
    }

    /** Copies of each payload, in order. */
    public List<byte[]> payloadArrays() {
        List<byte[]> out = new ArrayList<>(count);
        for (ByteBuffer p : payloads()) {
            byte[] a = new byte[p.remaining()];
            p.get(a);
            out.add(a);
        }
        return out;
    }

    /** Sum of payload lengths (headers excluded). */
    public long payloadBytes() {
        return (long) sizeBytes() - (long) count * HEADER_SIZE;
    }

    /**
     * Checks every payload's CRC-32.
     *
     * @return -1 when all match, else the 0-based position of the first bad message
     */
    public int firstBadChecksum() {
        CRC32 crc = new CRC32();
        int pos = 0;
        for (int i = 0; i < count; i++) {
            int len = bytes.getInt(pos + 1);
            crc.reset();
            crc.update(bytes.slice(pos + HEADER_SIZE, len));
            if ((int) crc.getValue() != bytes.getInt(pos + 13)) {
                return i;
            }
            pos += HEADER_SIZE + len;
        }
        return -1;
    }

    /** Throws {@link MalformedBatchException} when a payload's CRC-32 does not match. */
    public MessageBatch verifyChecksums() {
        int bad = firstBadChecksum();
        if (bad >= 0) {
            throw new MalformedBatchException("checksum mismatch in message " + bad + " of batch");
        }
        return this;
    }

    private static void checkPayloadSize(int len) {
        if (len > MAX_PAYLOAD_BYTES) {
            throw new MalformedBatchException("message of " + len + " bytes exceeds the limit of "
                    + MAX_PAYLOAD_BYTES + " bytes");
        }
    }

    @Override
    public String toString() {
        return "MessageBatch[" + count + " messages, " + sizeBytes() + " bytes]";
    }
}
