package org.forestbus.commitlog.internal;

import java.util.Arrays;

/**
 * Sparse in-memory offset index of one segment: (local index, byte position) pairs in increasing
 * order, one at the first record at or after every {@link #INTERVAL_BYTES} bytes. Rebuilt by
 * scanning; never stored. Thread-safe (the writer adds while readers look up).
 */
final class SparseIndex {

    static final int INTERVAL_BYTES = 4096;

    private long[] rel = new long[16];
    private long[] pos = new long[16];
    private int n;
    private long nextPos; // add an entry for the first record starting at or after this position

    /** Offers a record; records an entry when it crosses the next interval boundary. */
    synchronized void offer(long localIndex, long position) {
        if (position < nextPos) {
            return;
        }
        if (n == rel.length) {
            rel = Arrays.copyOf(rel, n * 2);
            pos = Arrays.copyOf(pos, n * 2);
        }
        rel[n] = localIndex;
        pos[n] = position;
        n++;
        nextPos = position + INTERVAL_BYTES;
    }

    /** The entry with the largest local index {@code <= localIndex}: {local index, position}; {0,0} if none. */
    synchronized long[] floor(long localIndex) {
        int lo = 0;
        int hi = n - 1;
        int best = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (rel[mid] <= localIndex) {
                best = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return best < 0 ? new long[] {0, 0} : new long[] {rel[best], pos[best]};
    }

    /** Drops entries for local indexes {@code >= localIndex} (the records at and after {@code position} are gone). */
    synchronized void truncate(long localIndex, long position) {
        while (n > 0 && rel[n - 1] >= localIndex) {
            n--;
        }
        nextPos = n == 0 ? 0 : Math.min(pos[n - 1] + INTERVAL_BYTES, position);
    }

    synchronized void clear() {
        n = 0;
        nextPos = 0;
    }
}
