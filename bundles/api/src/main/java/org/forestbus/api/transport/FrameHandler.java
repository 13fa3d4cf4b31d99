package org.forestbus.api.transport;

import java.nio.ByteBuffer;
import org.osgi.annotation.versioning.ConsumerType;

/** Receives the frames addressed to one topic on this node. */
@ConsumerType
public interface FrameHandler {

    /**
     * Called on a transport I/O thread, in the order the sending node queued the frames (per
     * peer). Must not block: hand the work to the topic's own executor. The buffer is valid only
     * during the call (copy what must outlive it).
     */
    void onFrame(String fromNode, String topic, ByteBuffer payload);
}
