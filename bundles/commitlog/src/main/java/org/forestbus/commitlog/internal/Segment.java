package org.forestbus.commitlog.internal;

import java.nio.file.Path;

/**
 * One segment file: bare v0 records back to back, named by the index of its first record.
 * The active (newest) segment may carry preallocated zero bytes after {@link #dataEnd}; they
 * are never read and are cut off when the segment is closed or recovered.
 */
final class Segment {

    static final String SUFFIX = "-forest-log";

    final long first;
    final Path path;
    final String name;
    final SparseIndex index = new SparseIndex();

    /**
     * Open handle; null for a closed segment not yet read (opened lazily by the first read, under
     * the store's read lock and this segment's monitor) or released again when cold. Closed or
     * replaced only under the store's write lock.
     */
    volatile LogFile file;
    /** Bytes of whole records. Written by the writer after the bytes are in the file. */
    volatile long dataEnd;
    /** Records in the segment (for a not yet indexed closed segment: implied by the next segment's name). */
    volatile long count;
    /** True once the records were scanned (structure and checksums) and the sparse index built. */
    volatile boolean indexed;
    /** {@link System#nanoTime} of the last read or term lookup in this segment: which warm segment is coldest. */
    volatile long lastUsedNanos;
    /** Time of the last write (clock millis), or the file's mtime for segments found at open. */
    volatile long lastWriteMillis;
    /**
     * End of the zero-filled space (file length including preallocated zeros). Changed under the
     * store's fill lock; the writer reads it without (it only writes below it, or takes the lock).
     */
    volatile long allocated;
    /** Guarded by the store's sync lock: written since the last fsync round captured it. */
    boolean dirty;

    Segment(Path dir, long first) {
        this.first = first;
        this.name = name(first);
        this.path = dir.resolve(name);
    }

    long lastIndex() {
        return first + count - 1;
    }

    static String name(long first) {
        String digits = Long.toString(first);
        return "0".repeat(Math.max(0, 19 - digits.length())) + digits + SUFFIX;
    }

    /** First index parsed from a segment file name, or -1 when the name is not a segment's. */
    static long parse(String fileName) {
        if (!fileName.endsWith(SUFFIX)) {
            return -1;
        }
        int dash = fileName.indexOf('-');
        if (dash != fileName.length() - SUFFIX.length() || dash == 0) {
            return -1;
        }
        try {
            return Long.parseLong(fileName.substring(0, dash));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
