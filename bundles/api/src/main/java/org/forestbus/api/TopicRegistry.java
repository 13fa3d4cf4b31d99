package org.forestbus.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The topics running on this node, for endpoints and commands. Always registered; topics come
 * and go behind it as their configurations are created and deleted.
 */
@ProviderType
public interface TopicRegistry {

    /** The running topic with this name, if any. */
    Optional<TopicService> topic(String name);

    /** All running topics, sorted by name. */
    List<TopicService> topics();

    /** Like {@link #topic(String)} but fails with {@link TopicNotFoundException}. */
    default TopicService require(String name) {
        return topic(name).orElseThrow(() -> new TopicNotFoundException(name));
    }
}
