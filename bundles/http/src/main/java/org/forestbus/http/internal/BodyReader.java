package org.forestbus.http.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.Consumer;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/**
 * Reads a request body without blocking: pulls chunks while they are available and otherwise
 * registers itself with {@link Request#demand}. Stops with a 413 as soon as the bytes read
 * exceed the limit, so a chunked body of unknown length is never buffered beyond it.
 * Exactly one of the two consumers is called, once.
 */
final class BodyReader implements Runnable {

    /** The body: {@code bytes[0, length)}. */
    record Body(byte[] bytes, int length) {
    }

    private final Request request;
    private final long limit;
    private final Consumer<Body> onBody;
    private final Consumer<Throwable> onError;
    private byte[] buf;
    private int size;

    private BodyReader(Request request, long limit, Consumer<Body> onBody, Consumer<Throwable> onError) {
        this.request = request;
        this.limit = limit;
        this.onBody = onBody;
        this.onError = onError;
        long declared = request.getLength(); // -1 when chunked
        this.buf = new byte[(int) Math.min(declared >= 0 ? declared : 8192, limit)];
    }

    /**
     * Starts reading. A declared Content-Length above {@code limit} fails at once, before any
     * byte is read.
     */
    static void read(Request request, long limit, Consumer<Body> onBody, Consumer<Throwable> onError) {
        long declared = request.getLength();
        if (declared > limit) {
            onError.accept(tooLarge(limit));
            return;
        }
        new BodyReader(request, limit, onBody, onError).run();
    }

    @Override
    public void run() {
        while (true) {
            Content.Chunk chunk = request.read();
            if (chunk == null) {
                request.demand(this);
                return;
            }
            if (Content.Chunk.isFailure(chunk)) {
                onError.accept(HttpError.badRequest("request body could not be read: " + chunk.getFailure()));
                return;
            }
            ByteBuffer b = chunk.getByteBuffer();
            int n = b.remaining();
            if ((long) size + n > limit) {
                chunk.release();
                onError.accept(tooLarge(limit));
                return;
            }
            if (size + n > buf.length) {
                buf = Arrays.copyOf(buf, (int) Math.min(limit, Math.max((long) size + n, buf.length * 2L)));
            }
            b.get(buf, size, n);
            size += n;
            boolean last = chunk.isLast();
            chunk.release();
            if (last) {
                onBody.accept(new Body(buf, size));
                return;
            }
        }
    }

    private static HttpError tooLarge(long limit) {
        return HttpError.tooLarge("the request body", limit, "bytes", "max.request.bytes");
    }
}
