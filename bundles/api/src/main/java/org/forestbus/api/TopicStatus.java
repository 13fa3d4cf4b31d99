package org.forestbus.api;

/**
 * A snapshot of one topic on this node. Indexes are local values: {@code firstIndex} is the
 * first stored index (1 for a new topic), {@code lastIndex} the newest stored one
 * ({@code firstIndex - 1} when empty), {@code commitIndex} the highest index known committed.
 *
 * @param leader node name of the current leader, or {@code null} when unknown
 */
public record TopicStatus(String name, long firstIndex, long lastIndex, long commitIndex,
                          long term, Role role, String leader) {
}
