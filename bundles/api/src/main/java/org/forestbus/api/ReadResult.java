package org.forestbus.api;

/**
 * Result of {@link TopicService#read}.
 *
 * @param messages    whole committed messages starting at {@code firstIndex}; possibly empty
 * @param firstIndex  index of the first message in {@code messages} (the requested index, or
 *                    the topic's first index when the request pointed below it)
 * @param nextIndex   index to ask for next ({@code firstIndex + messages.count()})
 * @param commitIndex the node's commit index when the read was answered
 */
public record ReadResult(MessageBatch messages, long firstIndex, long nextIndex, long commitIndex) {
}
