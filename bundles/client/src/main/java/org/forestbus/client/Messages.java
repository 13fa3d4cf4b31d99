package org.forestbus.client;

import java.util.List;

/**
 * One {@code ReceiveMessages} answer.
 *
 * @param payloads the message payloads, in index order, starting at the requested ID (or at the
 *                 first stored index when the requested one was cleaned up); never null
 * @param nextId   the index to ask for next, as answered by the node: after messages, the index
 *                 following the last one; after an empty poll, the requested ID, or 0 while the
 *                 node's commit index is 0 (the original's "cluster restarted" signal), or the
 *                 first stored index when the requested ID is below it
 */
public record Messages(List<byte[]> payloads, long nextId) {

    public Messages {
        payloads = List.copyOf(payloads);
    }

    public boolean isEmpty() {
        return payloads.isEmpty();
    }

    public int size() {
        return payloads.size();
    }
}
