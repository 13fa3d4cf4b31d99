package org.forestbus.http.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the HTTP client endpoint (PID {@code org.forestbus.http}). */
@ObjectClassDefinition(name = "Forest Bus HTTP endpoint",
        description = "HTTP/JSON and CBOR client endpoint on an embedded Jetty 12")
public @interface HttpConfig {

    @AttributeDefinition(description = "Interface to bind (0.0.0.0 = all)")
    String host() default "0.0.0.0";

    @AttributeDefinition(description = "TCP port; 0 picks a free port")
    int port() default 8000;

    @AttributeDefinition(description = "Largest request body in bytes (larger: 413)")
    long max_request_bytes() default 16L << 20;

    @AttributeDefinition(description = "Most messages one send request may carry (more: 413)")
    int max_messages_per_request() default 10_000;

    @AttributeDefinition(description = "Most messages one read returns; a larger 'max' is clamped")
    int max_read_messages() default 500;

    @AttributeDefinition(description = "Soft cap on the payload bytes one read returns")
    int max_read_bytes() default 4 << 20;

    @AttributeDefinition(description = "Longest long-poll in ms; a larger 'wait' is clamped")
    long max_wait_ms() default 60_000;

    @AttributeDefinition(description = "Idle timeout of a connection in ms; also how long a send may wait for its"
            + " acknowledgement before it is answered 500 (outcome unknown). Long-polls are exempt until their wait is over")
    long idle_timeout_ms() default 30_000;

    @AttributeDefinition(description = "Most threads of the endpoint's Jetty pool (requests never park a thread)")
    int max_threads() default 32;

    @AttributeDefinition(description = "How long deactivation waits for in-flight sends, in ms")
    long stop_timeout_ms() default 5_000;

    @AttributeDefinition(description = "Bytes of send bodies held at once at most, all connections together (a body counts its"
            + " Content-Length, or max.request.bytes when chunked, from its headers until it is answered); a send arriving while"
            + " this much is held is answered 503 BUSY with Retry-After at once, nothing stored")
    long max_buffered_send_bytes() default 32L << 20;
}
