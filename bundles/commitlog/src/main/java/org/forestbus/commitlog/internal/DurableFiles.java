package org.forestbus.commitlog.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.forestbus.api.storage.CorruptLogException;
import org.forestbus.api.storage.HardState;

/**
 * The small per-topic state files, each replaced atomically (write temp, fsync, rename,
 * fsync directory) and protected by a CRC-32C trailer. A file that fails its checksum refuses
 * to load (never silently reset).
 *
 * <pre>
 * hard-state:      "FBHS" u8:1 term:i64 commitIndex:i64 voteLen:i32 (-1 = none) vote:UTF-8 crc32c:u32   (little-endian)
 * sync-checkpoint: "FBCK" u8:1 segmentFirstIndex:i64 syncedBytes:i64 prefixCrc32c:u32 crc32c:u32
 * membership:      "FBMS" u8:1 length:i32 record:bytes crc32c:u32   (the record is the Raft layer's)
 * </pre>
 */
final class DurableFiles {

    static final String HARD_STATE = "hard-state";
    static final String CHECKPOINT = "sync-checkpoint";
    static final String MEMBERSHIP = "membership";
    static final String TMP = ".tmp";
    /** The original's term/vote file ({"Term":3,"VotedFor":"host:port"}), imported once when no hard-state exists. */
    static final String ORIGINAL_TOPIC_STORE = "topic-store";

    private static final int HS_MAGIC = 0x53484246; // "FBHS" little-endian
    private static final int CK_MAGIC = 0x4b434246; // "FBCK"
    private static final int MS_MAGIC = 0x534d4246; // "FBMS"
    private static final int CK_SIZE = 4 + 1 + 8 + 8 + 4 + 4;

    /** Bytes [0, syncedBytes) of segment {@code segmentFirst} (and every older segment) were fsynced. */
    record Checkpoint(long segmentFirst, long syncedBytes, int prefixCrc) {
    }

    private DurableFiles() {
    }

    static void replace(FileSystemOps fs, Path dir, String name, byte[] content) throws IOException {
        Path tmp = dir.resolve(name + TMP);
        try (LogFile f = fs.open(tmp, true)) {
            f.truncate(0);
            f.write(ByteBuffer.wrap(content), 0);
            f.force();
        }
        fs.rename(tmp, dir.resolve(name));
        fs.syncDirectory(dir);
    }

    static void saveHardState(FileSystemOps fs, Path dir, HardState hs) throws IOException {
        byte[] vote = hs.votedFor() == null ? null : hs.votedFor().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 8 + 8 + 4 + (vote == null ? 0 : vote.length) + 4)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(HS_MAGIC).put((byte) 1).putLong(hs.term()).putLong(hs.commitIndex());
        b.putInt(vote == null ? -1 : vote.length);
        if (vote != null) {
            b.put(vote);
        }
        b.putInt(crc(b.array(), b.position()));
        replace(fs, dir, HARD_STATE, b.array());
    }

    static HardState loadHardState(FileSystemOps fs, Path dir) throws IOException {
        Path p = dir.resolve(HARD_STATE);
        if (!fs.exists(p)) {
            Path original = dir.resolve(ORIGINAL_TOPIC_STORE);
            return fs.exists(original) ? parseOriginal(fs, original) : HardState.INITIAL;
        }
        byte[] a = readAll(fs, p);
        String file = p.toString();
        if (a.length < 29) {
            throw new CorruptLogException(file, 0, "hard state file too short (" + a.length + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(a.length - 4) != crc(a, a.length - 4)) {
            throw new CorruptLogException(file, a.length - 4, "hard state checksum mismatch");
        }
        if (b.getInt() != HS_MAGIC || b.get() != 1) {
            throw new CorruptLogException(file, 0, "not a hard state file (magic/version)");
        }
        long term = b.getLong();
        long commit = b.getLong();
        int voteLen = b.getInt();
        if (voteLen < -1 || voteLen != (voteLen < 0 ? -1 : a.length - 29)) {
            throw new CorruptLogException(file, 21, "bad vote length " + voteLen);
        }
        String vote = voteLen < 0 ? null : new String(a, 25, voteLen, StandardCharsets.UTF_8);
        return new HardState(term, vote, commit);
    }

    private static HardState parseOriginal(FileSystemOps fs, Path p) throws IOException {
        String s = new String(readAll(fs, p), StandardCharsets.UTF_8);
        Matcher t = Pattern.compile("\"Term\"\\s*:\\s*(\\d+)").matcher(s);
        Matcher v = Pattern.compile("\"VotedFor\"\\s*:\\s*\"([^\"]*)\"").matcher(s);
        if (!t.find()) {
            throw new CorruptLogException(p.toString(), 0, "unparsable original topic-store: " + s);
        }
        String vote = v.find() && !v.group(1).isEmpty() ? v.group(1) : null;
        return new HardState(Long.parseLong(t.group(1)), vote, 0);
    }

    static void saveMembership(FileSystemOps fs, Path dir, byte[] record) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 4 + record.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MS_MAGIC).put((byte) 1).putInt(record.length).put(record);
        b.putInt(crc(b.array(), b.position()));
        replace(fs, dir, MEMBERSHIP, b.array());
    }

    /** The saved membership record, or null when there is none. */
    static byte[] loadMembership(FileSystemOps fs, Path dir) throws IOException {
        Path p = dir.resolve(MEMBERSHIP);
        if (!fs.exists(p)) {
            return null;
        }
        byte[] a = readAll(fs, p);
        ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        if (a.length < 13 || b.getInt(a.length - 4) != crc(a, a.length - 4) || b.getInt() != MS_MAGIC || b.get() != 1
                || b.getInt() != a.length - 13) {
            throw new CorruptLogException(p.toString(), 0, "membership file fails its checksum or framing");
        }
        byte[] record = new byte[a.length - 13];
        b.get(record);
        return record;
    }

    static void saveCheckpoint(FileSystemOps fs, Path dir, Checkpoint ck) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(CK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(CK_MAGIC).put((byte) 1).putLong(ck.segmentFirst()).putLong(ck.syncedBytes()).putInt(ck.prefixCrc());
        b.putInt(crc(b.array(), b.position()));
        replace(fs, dir, CHECKPOINT, b.array());
    }

    /** The checkpoint, or null when there is none (a new topic or an original data directory). */
    static Checkpoint loadCheckpoint(FileSystemOps fs, Path dir) throws IOException {
        Path p = dir.resolve(CHECKPOINT);
        if (!fs.exists(p)) {
            return null;
        }
        byte[] a = readAll(fs, p);
        ByteBuffer b = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
        if (a.length != CK_SIZE || b.getInt(CK_SIZE - 4) != crc(a, CK_SIZE - 4)
                || b.getInt() != CK_MAGIC || b.get() != 1) {
            throw new CorruptLogException(p.toString(), 0, "sync checkpoint fails its checksum");
        }
        return new Checkpoint(b.getLong(), b.getLong(), b.getInt());
    }

    private static byte[] readAll(FileSystemOps fs, Path p) throws IOException {
        try (LogFile f = fs.open(p, false)) {
            long size = f.size();
            if (size > 1 << 20) {
                throw new CorruptLogException(p.toString(), 0, "state file too large: " + size);
            }
            ByteBuffer b = ByteBuffer.allocate((int) size);
            f.readFully(b, 0);
            return b.array();
        }
    }

    private static int crc(byte[] a, int len) {
        CRC32C c = new CRC32C();
        c.update(a, 0, len);
        return (int) c.getValue();
    }
}
