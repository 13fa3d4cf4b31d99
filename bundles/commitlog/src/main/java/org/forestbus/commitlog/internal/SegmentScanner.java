package org.forestbus.commitlog.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.CorruptLogException;

/**
 * Walks a segment file record by record, verifying structure and payload CRCs and building the
 * sparse index. The recovery rules (FORESTBUS-SPEC §3.3, fixed):
 *
 * <ul>
 *   <li>bytes below {@code strictEnd} (known durable) must be whole valid records ending exactly at
 *       {@code strictEnd}, and their CRC-32C must equal the checkpoint's prefix CRC (this covers the
 *       header term, which the v0 payload CRC does not) — otherwise {@link CorruptLogException};</li>
 *   <li>above it (the tail) the first invalid record ends the data: short header, short body, bad
 *       version, bad length, bad CRC, or an all-zero run to the end of file (preallocation or a
 *       zero-filled torn write) — unless a valid record follows a bad-CRC record, which is
 *       mid-data corruption, not a torn write, and refuses.</li>
 * </ul>
 */
final class SegmentScanner {

    static final int WINDOW = 1 << 20;

    /** Outcome of a scan. */
    static final class Result {
        long dataEnd;
        long count;
        long lastTerm = -1;
        /** CRC-32C of bytes [0, dataEnd). */
        int prefixCrc;
        /** True when an invalid tail starts at {@link #dataEnd} (the caller truncates the file there). */
        boolean tornTail;
        String tailReason;
    }

    private SegmentScanner() {
    }

    /**
     * @param strictEnd   bytes known durable; {@code Long.MAX_VALUE} when the whole file must be valid
     * @param expectCrc   CRC-32C of [0, strictEnd) when {@code checkCrc}
     * @param index       filled with entries (cleared first)
     * @param prefix      reset, then fed the bytes of every valid record (ends as CRC-32C of [0, dataEnd))
     */
    static Result scan(LogFile file, String name, long strictEnd, boolean checkCrc, int expectCrc,
                       SparseIndex index, CRC32C prefix) throws IOException {
        index.clear();
        prefix.reset();
        Result r = new Result();
        long fileSize = file.size();
        if (strictEnd != Long.MAX_VALUE && fileSize < strictEnd) {
            throw new CorruptLogException(name, fileSize, "file is shorter (" + fileSize
                    + " bytes) than its synced length " + strictEnd);
        }
        CRC32 crc = new CRC32();
        ByteBuffer win = ByteBuffer.allocate((int) Math.max(MessageBatch.HEADER_SIZE, Math.min(WINDOW, fileSize)))
                .order(ByteOrder.LITTLE_ENDIAN);
        long winStart = 0;
        win.limit(0);
        long pos = 0;
        long count = 0;
        while (true) {
            if (checkCrc && pos == strictEnd && (int) prefix.getValue() != expectCrc) {
                throw new CorruptLogException(name, 0, "synced bytes [0, " + strictEnd
                        + ") fail the checkpoint's CRC-32C (a header field, e.g. a term, was altered)");
            }
            long remain = fileSize - pos;
            if (remain == 0) {
                break;
            }
            String problem = null;
            int len = 0;
            long term = 0;
            boolean zeroHeader = false;
            if (remain < MessageBatch.HEADER_SIZE) {
                problem = "partial header";
            } else {
                if (pos + MessageBatch.HEADER_SIZE > winStart + win.limit()) {
                    winStart = pos;
                    win = fill(file, win, pos, MessageBatch.HEADER_SIZE);
                }
                int o = (int) (pos - winStart);
                byte version = win.get(o);
                len = win.getInt(o + 1);
                term = win.getLong(o + 5);
                int stored = win.getInt(o + 13);
                zeroHeader = version == 0 && len == 0 && term == 0 && stored == 0;
                if (version != MessageBatch.FORMAT_VERSION) {
                    problem = "unsupported format version " + version;
                } else if (len < 0 || len > MessageBatch.MAX_PAYLOAD_BYTES) {
                    problem = "bad message length " + len;
                } else if (MessageBatch.HEADER_SIZE + (long) len > remain) {
                    problem = "partial message (" + len + "-byte payload, " + (remain - MessageBatch.HEADER_SIZE) + " bytes left)";
                } else {
                    int recLen = MessageBatch.HEADER_SIZE + len;
                    if (pos + recLen > winStart + win.limit()) {
                        winStart = pos;
                        win = fill(file, win, pos, recLen);
                        o = 0;
                    }
                    crc.reset();
                    crc.update(win.slice(o + MessageBatch.HEADER_SIZE, len));
                    if ((int) crc.getValue() != stored) {
                        problem = "checksum mismatch";
                    }
                }
            }
            if (problem == null && zeroHeader && pos >= strictEnd && zerosToEnd(file, pos, fileSize)) {
                problem = "zero-filled tail";
            }
            if (problem != null) {
                if (pos < strictEnd) {
                    throw new CorruptLogException(name, pos, problem + " in synced data");
                }
                if (problem.equals("checksum mismatch")
                        && validRecordAt(file, pos + MessageBatch.HEADER_SIZE + len, fileSize)) {
                    throw new CorruptLogException(name, pos, "checksum mismatch followed by a valid record at byte "
                            + (pos + MessageBatch.HEADER_SIZE + len) + " (mid-data corruption, not a torn write)");
                }
                r.tornTail = true;
                r.tailReason = problem;
                break;
            }
            int recLen = MessageBatch.HEADER_SIZE + len;
            if (pos < strictEnd && pos + recLen > strictEnd) {
                throw new CorruptLogException(name, pos, "record crosses the synced boundary " + strictEnd);
            }
            index.offer(count, pos);
            prefix.update(win.slice((int) (pos - winStart), recLen));
            r.lastTerm = term;
            count++;
            pos += recLen;
        }
        r.dataEnd = pos;
        r.count = count;
        r.prefixCrc = (int) prefix.getValue();
        return r;
    }

    private static ByteBuffer fill(LogFile file, ByteBuffer win, long pos, int size) throws IOException {
        ByteBuffer b = win.capacity() >= size ? win : ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.clear();
        int n = file.readFully(b, pos);
        b.limit(n);
        return b;
    }

    private static boolean zerosToEnd(LogFile file, long pos, long fileSize) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(WINDOW, fileSize - pos));
        long p = pos;
        while (p < fileSize) {
            b.clear();
            b.limit((int) Math.min(b.capacity(), fileSize - p));
            int n = file.readFully(b, p);
            for (int i = 0; i < n; i++) {
                if (b.get(i) != 0) {
                    return false;
                }
            }
            if (n == 0) {
                return true;
            }
            p += n;
        }
        return true;
    }

    /** A whole, non-zero-header record with a matching CRC starts at {@code pos}. */
    static boolean validRecordAt(LogFile file, long pos, long fileSize) throws IOException {
        if (pos + MessageBatch.HEADER_SIZE > fileSize) {
            return false;
        }
        ByteBuffer h = ByteBuffer.allocate(MessageBatch.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        file.readFully(h, pos);
        int len = h.getInt(1);
        boolean zero = h.get(0) == 0 && len == 0 && h.getLong(5) == 0 && h.getInt(13) == 0;
        if (zero || h.get(0) != 0 || len < 0 || len > MessageBatch.MAX_PAYLOAD_BYTES
                || pos + MessageBatch.HEADER_SIZE + len > fileSize) {
            return false;
        }
        ByteBuffer body = ByteBuffer.allocate(len);
        file.readFully(body, pos + MessageBatch.HEADER_SIZE);
        body.flip();
        CRC32 c = new CRC32();
        c.update(body);
        return (int) c.getValue() == h.getInt(13);
    }

    /** Feeds bytes [0, end) of a file into {@code c}. */
    static void prefixCrc(LogFile file, long end, CRC32C c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(WINDOW, Math.max(1, end)));
        long p = 0;
        while (p < end) {
            b.clear();
            b.limit((int) Math.min(b.capacity(), end - p));
            int n = file.readFully(b, p);
            if (n <= 0) {
                throw new IOException("unexpected end of file at " + p);
            }
            b.flip();
            c.update(b);
            p += n;
        }
    }
}
