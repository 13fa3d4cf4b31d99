package org.forestbus.transport.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The PID {@code org.forestbus.transport}. Every change re-creates the transport (connections drop and come back). */
@ObjectClassDefinition(name = "Forest Bus peer transport",
        description = "TCP connections between the nodes of the cluster, shared by all topics")
public @interface TransportConfig {

    @AttributeDefinition(name = "Bind host", description = "Interface the peer listener binds to")
    String host() default "0.0.0.0";

    @AttributeDefinition(name = "Port", description = "Peer listener port (0 = any free port). Other nodes dial the "
            + "peer address of this node in org.forestbus.node, which must point here")
    int port() default 3000;

    /**
     * {@code .secret}: a private property (leading dot), so DS does not copy it into the service
     * properties where every bundle and {@code service:list} could read it.
     */
    @AttributeDefinition(name = "Cluster secret", type = AttributeType.PASSWORD,
            description = "Shared by every node of the cluster; peers prove they hold it (HMAC-SHA256, never sent). "
                    + "Empty: the node refuses to peer (fine for a single-node cluster)")
    String _secret() default "";

    @AttributeDefinition(name = "Max frame bytes", description = "Largest wire frame sent or accepted after the "
            + "handshake; the same on every node. A single (topic, payload) larger than this cannot be sent")
    int max_frame_bytes() default 64 * 1024 * 1024;

    @AttributeDefinition(name = "Queue bytes per peer", description = "Bound of the send queue towards one peer; "
            + "send() returns false when full")
    long queue_bytes_per_peer() default 64L * 1024 * 1024;

    @AttributeDefinition(name = "Queue bytes, all peers", description = "Bound of all send queues together: each "
            + "peer's queue holds at most an equal share of it (or queue.bytes.per.peer, if smaller), so peers that "
            + "stop reading cannot take the heap, nor the room the others need. A record larger than the share is "
            + "still taken when its peer's queue is empty")
    long queue_bytes_total() default 64L * 1024 * 1024;

    @AttributeDefinition(name = "Reconnect min (ms)", description = "First reconnect delay; doubles per failure, with jitter")
    long reconnect_min_ms() default 100;

    @AttributeDefinition(name = "Reconnect max (ms)", description = "Largest reconnect delay")
    long reconnect_max_ms() default 5000;

    @AttributeDefinition(name = "Connect timeout (ms)", description = "TCP connect timeout when dialing a peer")
    long connect_timeout_ms() default 3000;

    @AttributeDefinition(name = "Handshake timeout (ms)", description = "A connection not authenticated within this time is closed")
    long handshake_timeout_ms() default 5000;

    @AttributeDefinition(name = "Idle timeout (ms)", description = "A connection that received no byte for this long is "
            + "closed (a ping is sent every quarter of it when idle), so dead or blackholed links are detected")
    long idle_timeout_ms() default 15000;
}
