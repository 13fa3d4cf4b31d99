package org.forestbus.api.admin;

import java.util.List;
import java.util.Map;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Creates and deletes topics on this node by writing Config Admin factory configurations
 * (PID {@code org.forestbus.topic}). Config Admin is the source of truth; the topic starts or
 * stops asynchronously once the configuration changes. Deleting a topic keeps its data.
 */
@ProviderType
public interface TopicAdmin {

    /** Creates or updates the topic's configuration with these properties (names as in the topic config, e.g. {@code segment.bytes}). */
    void createTopic(String name, Map<String, Object> properties);

    /** Deletes the topic's configuration. Returns false when no such topic was configured. */
    boolean deleteTopic(String name);

    /** Names of configured topics, sorted. */
    List<String> configuredTopics();
}
