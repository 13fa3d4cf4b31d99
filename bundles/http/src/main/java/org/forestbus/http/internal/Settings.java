package org.forestbus.http.internal;

/**
 * Validated values of {@link HttpConfig}. Tests build one directly with {@link #defaults()} and
 * the {@code with...} copies.
 */
record Settings(String host, int port, long maxRequestBytes, int maxMessagesPerRequest,
                int maxReadMessages, int maxReadBytes, long maxWaitMs, long idleTimeoutMs,
                int maxThreads, long stopTimeoutMs, long maxBufferedSendBytes) {

    /** Jetty needs an acceptor, a selector and a few reserved threads besides the handlers. */
    static final int MIN_THREADS = 8;

    Settings {
        require(port >= 0 && port <= 65535, "port", port);
        // a body is buffered in one byte[]
        require(maxRequestBytes > 0 && maxRequestBytes <= Integer.MAX_VALUE - 8,
                "max.request.bytes (1.." + (Integer.MAX_VALUE - 8) + ")", maxRequestBytes);
        require(maxMessagesPerRequest > 0, "max.messages.per.request", maxMessagesPerRequest);
        require(maxReadMessages > 0, "max.read.messages", maxReadMessages);
        require(maxReadBytes > 0, "max.read.bytes", maxReadBytes);
        require(maxWaitMs >= 0, "max.wait.ms", maxWaitMs);
        require(idleTimeoutMs > 0, "idle.timeout.ms", idleTimeoutMs);
        require(maxThreads >= MIN_THREADS, "max.threads (at least " + MIN_THREADS + ")", maxThreads);
        require(stopTimeoutMs >= 0, "stop.timeout.ms", stopTimeoutMs);
        require(maxBufferedSendBytes > 0, "max.buffered.send.bytes", maxBufferedSendBytes);
    }

    static Settings from(HttpConfig c) {
        return new Settings(c.host(), c.port(), c.max_request_bytes(), c.max_messages_per_request(),
                c.max_read_messages(), c.max_read_bytes(), c.max_wait_ms(), c.idle_timeout_ms(),
                c.max_threads(), c.stop_timeout_ms(), c.max_buffered_send_bytes());
    }

    /** The documented defaults, on a free loopback port. */
    static Settings defaults() {
        return new Settings("127.0.0.1", 0, 16L << 20, 10_000, 500, 4 << 20, 60_000, 30_000, 32, 5_000, 32L << 20);
    }

    Settings withMaxRequestBytes(long v) {
        return new Settings(host, port, v, maxMessagesPerRequest, maxReadMessages, maxReadBytes, maxWaitMs,
                idleTimeoutMs, maxThreads, stopTimeoutMs, maxBufferedSendBytes);
    }

    Settings withMaxMessagesPerRequest(int v) {
        return new Settings(host, port, maxRequestBytes, v, maxReadMessages, maxReadBytes, maxWaitMs,
                idleTimeoutMs, maxThreads, stopTimeoutMs, maxBufferedSendBytes);
    }

    Settings withReadLimits(int messages, int bytes, long waitMs) {
        return new Settings(host, port, maxRequestBytes, maxMessagesPerRequest, messages, bytes, waitMs,
                idleTimeoutMs, maxThreads, stopTimeoutMs, maxBufferedSendBytes);
    }

    Settings withIdleTimeoutMs(long v) {
        return new Settings(host, port, maxRequestBytes, maxMessagesPerRequest, maxReadMessages, maxReadBytes,
                maxWaitMs, v, maxThreads, stopTimeoutMs, maxBufferedSendBytes);
    }

    Settings withMaxThreads(int v) {
        return new Settings(host, port, maxRequestBytes, maxMessagesPerRequest, maxReadMessages, maxReadBytes,
                maxWaitMs, idleTimeoutMs, v, stopTimeoutMs, maxBufferedSendBytes);
    }

    Settings withStopTimeoutMs(long v) {
        return new Settings(host, port, maxRequestBytes, maxMessagesPerRequest, maxReadMessages, maxReadBytes,
                maxWaitMs, idleTimeoutMs, maxThreads, v, maxBufferedSendBytes);
    }

    Settings withMaxBufferedSendBytes(long v) {
        return new Settings(host, port, maxRequestBytes, maxMessagesPerRequest, maxReadMessages, maxReadBytes,
                maxWaitMs, idleTimeoutMs, maxThreads, stopTimeoutMs, v);
    }

    private static void require(boolean ok, String property, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid org.forestbus.http configuration: " + property + " = " + value);
        }
    }
}
