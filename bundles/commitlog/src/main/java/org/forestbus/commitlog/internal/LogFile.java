package org.forestbus.commitlog.internal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/** One open file behind {@link FileSystemOps}. Positional I/O only; thread-safe. */
public interface LogFile extends Closeable {

    /** Writes all remaining bytes of {@code src} at {@code position}. */
    void write(ByteBuffer src, long position) throws IOException;

    /** Reads into {@code dst} from {@code position}; returns bytes read, -1 at end of file. */
    int read(ByteBuffer dst, long position) throws IOException;

    /** Forces written data (not necessarily metadata other than the length) to stable storage. */
    void force() throws IOException;

    void truncate(long size) throws IOException;

    long size() throws IOException;

    /** Reads until {@code dst} is full or the end of file; returns bytes read. */
    default int readFully(ByteBuffer dst, long position) throws IOException {
        int total = 0;
        while (dst.hasRemaining()) {
            int n = read(dst, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }
}
