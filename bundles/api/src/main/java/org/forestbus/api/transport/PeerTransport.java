package org.forestbus.api.transport;

import java.nio.ByteBuffer;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Moves opaque frames {@code (topic, payload)} between this node and its peers (the nodes of
 * {@link org.forestbus.api.NodeInfo#peers()}), multiplexing every topic over few connections per
 * peer pair. Peers authenticate each other (cluster id and shared secret) before any frame is
 * delivered. Delivery is best effort: frames queued while a peer is unreachable may be dropped;
 * Raft retries. Per peer, frames arrive in the order they were sent.
 *
 * <p>Thread-safe; no method blocks.
 */
@ProviderType
public interface PeerTransport {

    /**
     * Queues a frame for {@code toNode}. Frames queued together are coalesced into few writes.
     *
     * @return false when the frame was not queued: unknown peer, or the peer's bounded queue is
     *         full (backpressure: the caller retries later, e.g. on its next heartbeat)
     */
    boolean send(String toNode, String topic, ByteBuffer payload);

    /**
     * Like {@link #send}, for a frame somebody waits on (replication on a client's write path):
     * when the peer's connection is idle the transport may write it on the calling thread at once
     * rather than hand it to its I/O thread to coalesce with later frames. Still never blocks, and
     * per peer, frames still arrive in the order they were sent. The default is {@link #send}.
     *
     * @since 1.1
     */
    default boolean sendUrgent(String toNode, String topic, ByteBuffer payload) {
        return send(toNode, topic, payload);
    }

    /**
     * Delivers frames for {@code topic} to {@code handler} until the returned registration is
     * closed. One handler per topic; frames for topics with no handler are dropped.
     */
    AutoCloseable register(String topic, FrameHandler handler);

    /** State of every peer connection, sorted by node name. */
    List<PeerStatus> peers();
}
