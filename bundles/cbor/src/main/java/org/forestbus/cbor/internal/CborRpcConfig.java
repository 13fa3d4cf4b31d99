package org.forestbus.cbor.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the CBOR-RPC listener (PID {@code org.forestbus.cbor}). */
@ObjectClassDefinition(name = "Forest Bus CBOR-RPC listener",
        description = "Go net/rpc framing with CBOR encoding, wire-compatible with the original Forest Bus clients")
public @interface CborRpcConfig {

    @AttributeDefinition(description = "Interface to bind")
    String host() default "0.0.0.0";

    @AttributeDefinition(description = "TCP port (the original clients default to 5000; 0 = any free port)")
    int port() default 5000;

    @AttributeDefinition(description = "Largest request body (arguments value) in bytes; a larger one closes the connection")
    int max_request_bytes() default 16 << 20;

    @AttributeDefinition(description = "Messages in one SendMessages request at most; a request with more is answered with "
            + "an RPC error and nothing of it is stored (each message costs heap beyond its bytes: an empty one about 40 bytes "
            + "encoded in 1)")
    int max_messages_per_request() default 100_000;

    @AttributeDefinition(description = "Deepest nesting of CBOR arrays/maps accepted in one value")
    int max_nesting_depth() default 16;

    @AttributeDefinition(description = "Open connections at most; further ones are closed at once")
    int max_connections() default 1024;

    @AttributeDefinition(description = "Messages per ReceiveMessages reply at most (the original's MAX_MESSAGE_RESULTS)")
    int max_read_messages() default 500;

    @AttributeDefinition(description = "Soft cap on the payload bytes of one ReceiveMessages reply (at least one message is always returned)")
    int max_read_bytes() default 16 << 20;

    @AttributeDefinition(description = "Longest ReceiveMessages long poll in milliseconds; it then answers as an empty poll")
    long max_wait_ms() default 300_000L;

    @AttributeDefinition(description = "Requests of one connection in flight at most; the connection is not read further until replies are written")
    int max_pending_requests() default 256;

    @AttributeDefinition(description = "Heap held by SendMessages requests of all connections at most, in bytes: a body is decoded "
            + "only while less is held (reserving max.request.bytes until decoded, then its messages' bytes until the topic answers); "
            + "otherwise its connection is not read further until sends finish")
    long max_buffered_send_bytes() default 32L << 20;

    @AttributeDefinition(description = "Longest pause in milliseconds while a request is partly received (its header "
            + "started, its body not complete); then the connection is closed. Idle connections between requests are not timed")
    long request_timeout_ms() default 30_000L;

    @AttributeDefinition(description = "Reply bytes owed to clients by all connections together, at most (queued to be written, "
            + "or reserved by replies being built): beyond it a ReceiveMessages reads and returns one message per reply")
    long max_buffered_reply_bytes() default 32L << 20;
}
