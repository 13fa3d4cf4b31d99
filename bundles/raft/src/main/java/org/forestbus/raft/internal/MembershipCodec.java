package org.forestbus.raft.internal;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.forestbus.api.MalformedBatchException;
import org.forestbus.raft.core.Membership;

/**
 * Binary form of a list of {@link Membership} records, little-endian: {@code count:u16}, then per
 * record {@code index:i64 term:i64 voters:u16 (len:u16 UTF-8)* learners:u16 (len:u16 UTF-8)*}.
 * Used inside Raft messages and, behind a version byte, as the topic's stored membership record.
 */
final class MembershipCodec {

    static final byte RECORD_VERSION = 1;
    /** A topic group never has more members than a cluster has nodes; this bounds decoding. */
    static final int MAX_MEMBERS = 1024;
    private static final int MAX_RECORDS = 64;

    private MembershipCodec() {
    }

    static int size(List<Membership> configs) {
        int n = 2;
        for (Membership m : configs) {
            n += 16 + 4;
            for (String s : m.voters()) {
                n += 2 + utf8(s).length;
            }
            for (String s : m.learners()) {
                n += 2 + utf8(s).length;
            }
        }
        return n;
    }

    static void write(ByteBuffer b, List<Membership> configs) {
        b.putShort((short) configs.size());
        for (Membership m : configs) {
            b.putLong(m.index()).putLong(m.term());
            names(b, m.voters());
            names(b, m.learners());
        }
    }

    static List<Membership> read(ByteBuffer b) {
        try {
            int count = b.getShort() & 0xffff;
            if (count > MAX_RECORDS) {
                throw new MalformedBatchException("too many membership records: " + count);
            }
            List<Membership> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                long index = b.getLong();
                long term = b.getLong();
                List<String> voters = names(b);
                List<String> learners = names(b);
                out.add(new Membership(index, term, voters, learners));
            }
            return out;
        } catch (BufferUnderflowException e) {
            throw new MalformedBatchException("truncated membership record");
        } catch (IllegalArgumentException e) {
            throw new MalformedBatchException("invalid membership record: " + e.getMessage());
        }
    }

    /** The stored form: {@code version:u8 = 1} then the list. */
    static byte[] toRecord(List<Membership> configs) {
        ByteBuffer b = ByteBuffer.allocate(1 + size(configs)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(RECORD_VERSION);
        write(b, configs);
        return b.array();
    }

    static List<Membership> fromRecord(byte[] record) {
        ByteBuffer b = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        if (record.length == 0 || b.get() != RECORD_VERSION) {
            throw new MalformedBatchException("unsupported membership record version");
        }
        List<Membership> out = read(b);
        if (out.isEmpty() || b.hasRemaining()) {
            throw new MalformedBatchException("membership record has no configuration or trailing bytes");
        }
        return out;
    }

    private static void names(ByteBuffer b, List<String> names) {
        b.putShort((short) names.size());
        for (String s : names) {
            byte[] u = utf8(s);
            b.putShort((short) u.length).put(u);
        }
    }

    private static List<String> names(ByteBuffer b) {
        int n = b.getShort() & 0xffff;
        if (n > MAX_MEMBERS) {
            throw new MalformedBatchException("too many members: " + n);
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int len = b.getShort() & 0xffff;
            if (len > b.remaining()) {
                throw new MalformedBatchException("truncated membership record");
            }
            byte[] s = new byte[len];
            b.get(s);
            out.add(new String(s, StandardCharsets.UTF_8));
        }
        return out;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
