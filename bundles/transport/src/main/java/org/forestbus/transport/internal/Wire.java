package org.forestbus.transport.internal;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.zip.CRC32C;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The peer wire protocol (version 1). Every frame:
 *
 * <pre>
 *   u32 length   body length in bytes (big endian), checked against the cap BEFORE any allocation
 *   u8  type     HELLO=1 CHALLENGE=2 AUTH=3 ACCEPT=4 DATA=5 PING=6 REJECT=7
 *   u32 crc      CRC32C over the 5 bytes length+type, then the body
 *   ... body
 * </pre>
 *
 * Handshake (the node whose name sorts first dials): connector → HELLO{magic "FBTP", version,
 * cluster id, own name, name of the node it means to reach, 32-byte nonce Nc}; acceptor →
 * CHALLENGE{nonce Na, HMAC(secret, "acceptor", Nc, Na, cluster, connector, acceptor)}; connector
 * checks that proof, then → AUTH{HMAC(secret, "connector", Nc, Na, cluster, connector, acceptor)};
 * acceptor checks it and → ACCEPT. Either side may send REJECT{reason} and close. Only after
 * ACCEPT are DATA frames legal; before it frames are capped at {@link #PRE_AUTH_MAX_BODY}.
 *
 * <p>DATA body: u32 count, then count records {u16 topic length, UTF-8 topic, u32 payload length,
 * payload}; no trailing bytes. PING, ACCEPT: empty body. REJECT: one string.
 * Strings: u16 length + UTF-8.
 */
final class Wire {

    static final int HEADER = 9;
    static final byte HELLO = 1, CHALLENGE = 2, AUTH = 3, ACCEPT = 4, DATA = 5, PING = 6, REJECT = 7;
    static final int MAGIC = 0x46425450; // "FBTP"
    static final byte VERSION = 1;
    static final int NONCE = 32, MAC = 32;
    /** Cap on a frame body before the peer is authenticated (handshake frames are tiny). */
    static final int PRE_AUTH_MAX_BODY = 4096;
    /** Bytes a record adds to its payload inside a DATA frame, besides the topic bytes. */
    static final int RECORD_OVERHEAD = 2 + 4;
    static final int DATA_PREFIX = 4;

    private Wire() {
    }

    /** Violation of the protocol by the remote side; the connection is closed with this message. */
    static final class ProtocolException extends Exception {
        ProtocolException(String message) {
            super(message);
        }
    }

    static String typeName(int type) {
        return switch (type) {
            case HELLO -> "HELLO";
            case CHALLENGE -> "CHALLENGE";
            case AUTH -> "AUTH";
            case ACCEPT -> "ACCEPT";
            case DATA -> "DATA";
            case PING -> "PING";
            case REJECT -> "REJECT";
            default -> "type " + type;
        };
    }

    /** Writes a frame header at {@code bodyStart - HEADER} once the body (up to {@code buf.position()}) is in place. */
    static void finishFrame(ByteBuffer buf, int frameStart, byte type) {
        int bodyLen = buf.position() - frameStart - HEADER;
        buf.putInt(frameStart, bodyLen);
        buf.put(frameStart + 4, type);
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), buf.arrayOffset() + frameStart, 5);
        crc.update(buf.array(), buf.arrayOffset() + frameStart + HEADER, bodyLen);
        buf.putInt(frameStart + 5, (int) crc.getValue());
    }

    /** A complete small frame (control frames). */
    static ByteBuffer frame(byte type, byte[]... parts) {
        int len = 0;
        for (byte[] p : parts) {
            len += p.length;
        }
        ByteBuffer buf = ByteBuffer.allocate(HEADER + len);
        buf.position(HEADER);
        for (byte[] p : parts) {
            buf.put(p);
        }
        finishFrame(buf, 0, type);
        return buf.flip();
    }

    /** CRC32C of a received frame: header bytes 0..4 then the body. */
    static int crc(ByteBuffer header, ByteBuffer body) {
        CRC32C crc = new CRC32C();
        crc.update(header.array(), header.arrayOffset(), 5);
        crc.update(body.array(), body.arrayOffset(), body.limit());
        return (int) crc.getValue();
    }

    static byte[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("string longer than 65535 UTF-8 bytes");
        }
        return ByteBuffer.allocate(2 + b.length).putShort((short) b.length).put(b).array();
    }

    static String readStr(ByteBuffer in) throws ProtocolException {
        int len = u16(in);
        if (len > in.remaining()) {
            throw new ProtocolException("string length " + len + " beyond frame end");
        }
        int pos = in.position();
        in.position(pos + len);
        if (in.hasArray()) { // fast path: ASCII (topic names, node names) needs no decoder
            byte[] a = in.array();
            int off = in.arrayOffset() + pos;
            boolean ascii = true;
            for (int i = off; i < off + len && ascii; i++) {
                ascii = a[i] >= 0;
            }
            if (ascii) {
                return new String(a, off, len, StandardCharsets.US_ASCII);
            }
        }
        ByteBuffer slice = in.slice(pos, len);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException("invalid UTF-8 in string");
        }
    }

    static int u16(ByteBuffer in) throws ProtocolException {
        need(in, 2);
        return in.getShort() & 0xFFFF;
    }

    static long u32(ByteBuffer in) throws ProtocolException {
        need(in, 4);
        return in.getInt() & 0xFFFFFFFFL;
    }

    static byte[] bytes(ByteBuffer in, int n) throws ProtocolException {
        need(in, n);
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    static void need(ByteBuffer in, int n) throws ProtocolException {
        if (in.remaining() < n) {
            throw new ProtocolException("frame body truncated (need " + n + " more bytes, have " + in.remaining() + ")");
        }
    }

    static void end(ByteBuffer in, String what) throws ProtocolException {
        if (in.hasRemaining()) {
            throw new ProtocolException(in.remaining() + " trailing bytes after " + what);
        }
    }

    record Hello(String clusterId, String from, String to, byte[] nonce) {
    }

    static ByteBuffer hello(String clusterId, String from, String to, byte[] nonce) {
        return frame(HELLO, ByteBuffer.allocate(5).putInt(MAGIC).put(VERSION).array(), str(clusterId), str(from), str(to), nonce);
    }

    static Hello readHello(ByteBuffer in) throws ProtocolException {
        try {
            need(in, 5);
            int magic = in.getInt();
            byte version = in.get();
            if (magic != MAGIC) {
                throw new ProtocolException("not a Forest Bus peer (bad magic " + Integer.toHexString(magic) + ")");
            }
            if (version != VERSION) {
                throw new ProtocolException("unsupported protocol version " + version + " (this node speaks " + VERSION + ")");
            }
            Hello h = new Hello(readStr(in), readStr(in), readStr(in), bytes(in, NONCE));
            end(in, "HELLO");
            return h;
        } catch (BufferUnderflowException e) {
            throw new ProtocolException("HELLO truncated");
        }
    }

    static byte[] hmac(byte[] key, String role, byte[] connectorNonce, byte[] acceptorNonce, String clusterId,
                       String connector, String acceptor) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(str("forestbus-transport-v1 " + role));
            mac.update(connectorNonce);
            mac.update(acceptorNonce);
            mac.update(str(clusterId));
            mac.update(str(connector));
            mac.update(str(acceptor));
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    static boolean macEquals(byte[] expected, byte[] actual) {
        return MessageDigest.isEqual(expected, actual);
    }

    /** Receives the records of a DATA frame. */
    interface RecordSink {
        void record(String topic, ByteBuffer payload);
    }

    /**
     * Validates a whole DATA body first (so a malformed frame delivers nothing), then hands each
     * record to {@code sink} in order. Payload buffers are read-only slices of {@code body}.
     */
    static int readData(ByteBuffer body, RecordSink sink) throws ProtocolException {
        ByteBuffer in = body.duplicate();
        long count = u32(in);
        long max = in.remaining() / RECORD_OVERHEAD;
        if (count > max) {
            throw new ProtocolException("DATA declares " + count + " records, at most " + max + " fit");
        }
        int n = (int) count;
        String[] topics = new String[n];
        int[] offsets = new int[n];
        int[] lengths = new int[n];
        for (int i = 0; i < n; i++) {
            topics[i] = readStr(in);
            long plen = u32(in);
            if (plen > in.remaining()) {
                throw new ProtocolException("record " + i + " payload length " + plen + " beyond frame end");
            }
            offsets[i] = in.position();
            lengths[i] = (int) plen;
            in.position(in.position() + (int) plen);
        }
        end(in, "DATA records");
        for (int i = 0; i < n; i++) {
            sink.record(topics[i], in.slice(offsets[i], lengths[i]).asReadOnlyBuffer());
        }
        return n;
    }
}
