package org.forestbus.client;

/**
 * {@code GetTopicDetails} of one node: its local indexes.
 *
 * @param node        the address that answered
 * @param topic       the topic
 * @param firstIndex  first stored index (1 for a fresh topic)
 * @param lastIndex   last stored index (0 when empty)
 * @param commitIndex the node's commit index
 */
public record TopicDetails(String node, String topic, long firstIndex, long lastIndex, long commitIndex) {
}
