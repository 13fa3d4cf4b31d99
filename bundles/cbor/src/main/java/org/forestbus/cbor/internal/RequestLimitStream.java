package org.forestbus.cbor.internal;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Counts the bytes handed to the parser and refuses to hand out any beyond a moving window end,
 * so a request that is larger than its limit fails after at most {@code limit + SLACK} bytes no
 * matter how the CBOR inside declares its lengths. Used by the connection's reader thread only.
 *
 * <p>Invariant that makes the window exact enough: the parser only asks for more input when its
 * buffer holds fewer bytes than the item it is decoding needs (at most 8 length bytes kept), so
 * while a request is within its limit the stream position never exceeds
 * {@code windowStart + limit + 8} and a valid request never hits the end.
 */
final class RequestLimitStream extends FilterInputStream {

    /** Look-ahead allowance beyond a window (the parser keeps at most 8 unread bytes when refilling). */
    static final int SLACK = 16;

    private long position;
    private long windowEnd = Long.MAX_VALUE;
    private long limit;

    RequestLimitStream(InputStream in) {
        super(in);
    }

    /** Allows at most {@code limit} bytes (plus {@link #SLACK}) from stream position {@code start}. */
    void window(long start, long limit) {
        this.limit = limit;
        this.windowEnd = start + limit + SLACK;
    }

    @Override
    public int read() throws IOException {
        if (position >= windowEnd) {
            throw new RequestTooLargeException("request exceeds " + limit + " bytes");
        }
        int b = super.read();
        if (b >= 0) {
            position++;
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        long allowed = windowEnd - position;
        if (allowed <= 0) {
            throw new RequestTooLargeException("request exceeds " + limit + " bytes");
        }
        int n = super.read(b, off, (int) Math.min(len, allowed));
        if (n > 0) {
            position += n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(n, 4096)];
        int r = read(buf, 0, buf.length);
        return Math.max(r, 0);
    }
}
