package org.forestbus.client;

import java.util.List;

/**
 * {@code GetClusterDetails} of one node.
 *
 * @param node      the address that answered
 * @param clusterId the configured cluster ID
 * @param peers     the configured peer names (including the node itself)
 * @param topics    the configured topics, unordered
 */
public record ClusterDetails(String node, String clusterId, List<String> peers, List<String> topics) {

    public ClusterDetails {
        peers = List.copyOf(peers);
        topics = List.copyOf(topics);
    }
}
