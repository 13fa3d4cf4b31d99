package org.forestbus.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/** Identity of this node and the cluster it belongs to (from the node configuration). */
@ProviderType
public interface NodeInfo {

    /** The cluster id every node of the cluster shares. */
    String clusterId();

    /** This node's name, unique in the cluster. */
    String nodeName();

    /** Every node of the cluster, this one included, sorted by name. */
    List<Peer> peers();

    /** The peer entry with this node name, if configured. */
    default Optional<Peer> peer(String nodeName) {
        return peers().stream().filter(p -> p.name().equals(nodeName)).findFirst();
    }

    /**
     * One node of the cluster and where its endpoints listen ({@code host:port}; empty when
     * not known).
     */
    record Peer(String name, String peerAddress, String httpAddress, String cborAddress) {
    }
}
