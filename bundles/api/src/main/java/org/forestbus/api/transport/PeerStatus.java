package org.forestbus.api.transport;

/**
 * Connection state towards one peer.
 *
 * @param queuedBytes bytes waiting to be written to the peer
 */
public record PeerStatus(String node, String address, boolean connected, long framesSent, long framesReceived,
                         long queuedBytes, String lastError) {
}
