package org.forestbus.config.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The node PID {@code org.forestbus.node}. The commit-log bundle reads its storage properties
 * ({@code data.dir}, {@code sync.policy}, {@code sync.interval.ms}) from the same PID.
 */
@ObjectClassDefinition(name = "Forest Bus node",
        description = "Identity of this node and the cluster it belongs to")
public @interface NodeConfig {

    @AttributeDefinition(name = "Node name", description = "Unique name of this node in the cluster")
    String node_name() default "node1";

    @AttributeDefinition(name = "Cluster id", description = "Shared by every node of the cluster; peers with another id are refused")
    String cluster_id() default "forestbus";

    @AttributeDefinition(name = "Peers", description = "Every node of the cluster, this one included, entries separated by ';', each "
            + "'name,peer=host:port,http=host:port,cbor=host:port'. Empty: a single-node cluster.")
    String[] peers() default {};

    @AttributeDefinition(name = "Advertised HTTP address", description = "host:port clients use to reach this node's HTTP endpoint (single-node clusters)")
    String http_address() default "localhost:8000";

    @AttributeDefinition(name = "Advertised CBOR-RPC address", description = "host:port clients use to reach this node's CBOR-RPC endpoint (single-node clusters)")
    String cbor_address() default "localhost:5000";

    @AttributeDefinition(name = "Advertised peer address", description = "host:port other nodes use to reach this node (single-node clusters)")
    String peer_address() default "localhost:3000";

    // Read by the commit-log bundle (declared here once so metatype shows the whole PID).

    @AttributeDefinition(name = "Data directory", description = "One folder per topic; relative paths resolve against karaf.base")
    String data_dir() default "forestbus-data";

    @AttributeDefinition(name = "Sync policy", description = "fsync (safe default: group commit, ack after fsync), "
            + "interval (acks before data is durable), none (UNSAFE: never fsync)")
    String sync_policy() default "fsync";

    @AttributeDefinition(name = "Sync interval (ms)", description = "fsync period for sync.policy=interval")
    long sync_interval_ms() default 1000;
}
