package org.forestbus.cbor.internal;

import java.lang.annotation.Annotation;

/** A {@link CborRpcConfig} for tests: loopback, port 0, defaults otherwise, with withers. */
@SuppressWarnings("ClassExplicitlyAnnotation")
final class TestConfig implements CborRpcConfig {
    int port = 0;
    int maxRequestBytes = 16 << 20;
    int maxNestingDepth = 16;
    int maxConnections = 1024;
    int maxReadMessages = 500;
    int maxReadBytes = 16 << 20;
    long maxWaitMs = 300_000;
    int maxPending = 256;
    int maxMessagesPerRequest = 100_000;
    long maxBufferedSendBytes = 32L << 20;
    long maxBufferedReplyBytes = 32L << 20;
    long requestTimeoutMs = 30_000;

    TestConfig maxRequestBytes(int v) { maxRequestBytes = v; return this; }
    TestConfig maxConnections(int v) { maxConnections = v; return this; }
    TestConfig maxReadMessages(int v) { maxReadMessages = v; return this; }
    TestConfig maxReadBytes(int v) { maxReadBytes = v; return this; }
    TestConfig maxWaitMs(long v) { maxWaitMs = v; return this; }
    TestConfig maxPending(int v) { maxPending = v; return this; }
    TestConfig maxMessagesPerRequest(int v) { maxMessagesPerRequest = v; return this; }
    TestConfig maxBufferedSendBytes(long v) { maxBufferedSendBytes = v; return this; }
    TestConfig maxBufferedReplyBytes(long v) { maxBufferedReplyBytes = v; return this; }
    TestConfig requestTimeoutMs(long v) { requestTimeoutMs = v; return this; }

    @Override public Class<? extends Annotation> annotationType() { return CborRpcConfig.class; }
    @Override public String host() { return "127.0.0.1"; }
    @Override public int port() { return port; }
    @Override public int max_request_bytes() { return maxRequestBytes; }
    @Override public int max_nesting_depth() { return maxNestingDepth; }
    @Override public int max_connections() { return maxConnections; }
    @Override public int max_read_messages() { return maxReadMessages; }
    @Override public int max_read_bytes() { return maxReadBytes; }
    @Override public long max_wait_ms() { return maxWaitMs; }
    @Override public int max_pending_requests() { return maxPending; }
    @Override public int max_messages_per_request() { return maxMessagesPerRequest; }
    @Override public long max_buffered_send_bytes() { return maxBufferedSendBytes; }
    @Override public long max_buffered_reply_bytes() { return maxBufferedReplyBytes; }
    @Override public long request_timeout_ms() { return requestTimeoutMs; }
}
