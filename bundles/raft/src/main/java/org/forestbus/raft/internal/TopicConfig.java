package org.forestbus.raft.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** One topic: factory PID {@code org.forestbus.topic}, one configuration per topic. */
@ObjectClassDefinition(name = "Forest Bus topic", description = "One topic (its own Raft group and commit log)")
public @interface TopicConfig {

    @AttributeDefinition(name = "Topic name", description = "Letters, digits, '.', '_' or '-'; also the data folder name")
    String topic_name();

    @AttributeDefinition(name = "Segment size (bytes)", description = "Roll to a new segment file once the current one holds this many bytes")
    long segment_bytes() default 134217728L;

    @AttributeDefinition(name = "Retention by age (ms)", description = "Delete closed segments whose newest message is older; 0 keeps forever")
    long retention_ms() default 0;

    @AttributeDefinition(name = "Retention by size (bytes)", description = "Delete the oldest closed segments while the topic holds more; 0 = no limit")
    long retention_bytes() default 0;

    @AttributeDefinition(name = "Retention check interval (ms)", description = "How often retention runs")
    long retention_check_interval_ms() default 60000;

    @AttributeDefinition(name = "Sync policy", description = "Empty: the node's sync.policy. fsync | interval | none")
    String sync_policy() default "";

    @AttributeDefinition(name = "Log store filter", description = "Selects the LogStoreFactory service")
    String logStore_target() default "(type=disk)";
}
