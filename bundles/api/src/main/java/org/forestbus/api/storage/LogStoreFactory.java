package org.forestbus.api.storage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Opens topic logs under the node's data directory ({@code <data.dir>/<topic>/}).
 * Opening recovers from a crash: a torn tail is truncated; corruption inside synced data fails
 * with {@link CorruptLogException} naming file and offset.
 */
@ProviderType
public interface LogStoreFactory {

    /** Opens (creating if needed) the log of {@code topic}. At most one open store per topic. */
    LogStore open(String topic, LogConfig config);
}
