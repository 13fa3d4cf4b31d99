package org.forestbus.commitlog.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Storage properties of the node PID {@code org.forestbus.node} (other properties of that PID are ignored here). */
@ObjectClassDefinition(name = "Forest Bus node storage", description = "Where and how topic logs are stored")
public @interface DiskStorageConfig {

    @AttributeDefinition(name = "data.dir", description = "Directory holding one sub-directory per topic; "
            + "a relative path is resolved against ${karaf.base} when set, else the working directory")
    String data_dir() default "forestbus-data";

    @AttributeDefinition(name = "sync.policy", description = "fsync (group commit, default), "
            + "interval (acknowledges before durable) or none (UNSAFE: never fsync)")
    String sync_policy() default "fsync";

    @AttributeDefinition(name = "sync.interval.ms", description = "fsync period of the interval policy")
    long sync_interval_ms() default 1000;
}
