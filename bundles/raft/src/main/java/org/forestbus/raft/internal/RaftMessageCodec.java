package org.forestbus.raft.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.forestbus.api.MalformedBatchException;
import org.forestbus.api.MessageBatch;
import java.util.List;
import org.forestbus.raft.core.Membership;
import org.forestbus.raft.core.Message;
import org.forestbus.raft.core.MessageType;

/**
 * Binary form of a Raft {@link Message} inside a transport frame (little-endian):
 * {@code version:u8=3, type:u8 (MessageType ordinal), flags:u8 (1=reject, 2=transfer), term, index, logTerm, commit,
 * rejectHint (i64 each), from, to (u16 length + UTF-8 each), configs ({@link MembershipCodec}),
 * entries (the rest: v0 messages, the same bytes as on disk)}. Version 2 added configs, version 3
 * the COMMIT type; nodes of a cluster must speak the same version (others' frames are refused as
 * malformed and logged).
 */
final class RaftMessageCodec {

    static final byte VERSION = 3;
    private static final MessageType[] TYPES = MessageType.values();
    private static final int FIXED = 3 + 5 * 8;

    private RaftMessageCodec() {
    }

    static ByteBuffer encode(Message m) {
        byte[] from = m.from().getBytes(StandardCharsets.UTF_8);
        byte[] to = m.to().getBytes(StandardCharsets.UTF_8);
        ByteBuffer entries = m.entries().buffer();
        ByteBuffer b = ByteBuffer.allocate(FIXED + 4 + from.length + to.length + MembershipCodec.size(m.configs())
                + entries.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        b.put(VERSION).put((byte) m.type().ordinal())
                .put((byte) ((m.reject() ? 1 : 0) | (m.transfer() ? 2 : 0)))
                .putLong(m.term()).putLong(m.index()).putLong(m.logTerm()).putLong(m.commit()).putLong(m.rejectHint())
                .putShort((short) from.length).put(from).putShort((short) to.length).put(to);
        MembershipCodec.write(b, m.configs());
        b.put(entries);
        return b.flip();
    }

    /**
     * Decodes a frame payload (copying the entries: the transport's buffer is reused).
     *
     * @throws MalformedBatchException on anything that is not a well-formed message with valid
     *                                 entry checksums
     */
    static Message decode(ByteBuffer in) {
        ByteBuffer b = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        try {
            if (b.get() != VERSION) {
                throw new MalformedBatchException("unsupported raft message version");
            }
            int type = b.get() & 0xff;
            if (type >= TYPES.length) {
                throw new MalformedBatchException("unknown raft message type " + type);
            }
            int flags = b.get();
            long term = b.getLong();
            long index = b.getLong();
            long logTerm = b.getLong();
            long commit = b.getLong();
            long hint = b.getLong();
            String from = string(b);
            String to = string(b);
            List<Membership> configs = MembershipCodec.read(b);
            MessageBatch entries = MessageBatch.empty();
            if (b.hasRemaining()) {
                ByteBuffer copy = ByteBuffer.allocate(b.remaining());
                copy.put(b).flip();
                entries = MessageBatch.wrap(copy).verifyChecksums();
            }
            return new Message(TYPES[type], from, to, term, index, logTerm, entries, commit, (flags & 1) != 0, hint,
                    (flags & 2) != 0, configs);
        } catch (java.nio.BufferUnderflowException e) {
            throw new MalformedBatchException("truncated raft message");
        }
    }

    private static String string(ByteBuffer b) {
        int len = b.getShort() & 0xffff;
        if (len > b.remaining()) {
            throw new MalformedBatchException("truncated raft message");
        }
        byte[] s = new byte[len];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }
}
