package org.forestbus.config.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.forestbus.api.NodeInfo;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.Designate;

/** {@link NodeInfo} from the node configuration. Re-created by DS when the configuration changes. */
@Component(service = NodeInfo.class, configurationPid = "org.forestbus.node")
@Designate(ocd = NodeConfig.class)
public final class NodeComponent implements NodeInfo {

    private final String clusterId;
    private final String nodeName;
    private final List<Peer> peers;

    @Activate
    public NodeComponent(NodeConfig config) {
        this.clusterId = config.cluster_id();
        this.nodeName = config.node_name();
        this.peers = parsePeers(config);
    }

    static List<Peer> parsePeers(NodeConfig config) {
        List<Peer> out = new ArrayList<>();
        for (String value : config.peers()) {
            // a .cfg file gives one string: entries are separated by ';'
            for (String entry : value == null ? new String[0] : value.split(";")) {
                if (!entry.isBlank()) {
                    out.add(parsePeer(entry.trim()));
                }
            }
        }
        if (out.stream().noneMatch(p -> p.name().equals(config.node_name()))) {
            if (!out.isEmpty()) {
                throw new IllegalArgumentException("peers of org.forestbus.node do not include this node ("
                        + config.node_name() + "): " + out);
            }
            out.add(new Peer(config.node_name(), config.peer_address(), config.http_address(), config.cbor_address()));
        }
        out.sort(Comparator.comparing(Peer::name));
        return List.copyOf(out);
    }

    /** Parses {@code name,peer=host:port,http=host:port,cbor=host:port}; missing addresses are empty. */
    static Peer parsePeer(String entry) {
        String[] parts = entry.split(",");
        String name = parts[0].trim();
        if (name.isEmpty() || name.contains("=")) {
            throw new IllegalArgumentException("peer entry must start with the node name: '" + entry + "'");
        }
        String peer = "";
        String http = "";
        String cbor = "";
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("bad peer attribute '" + parts[i] + "' in '" + entry + "'");
            }
            switch (kv[0].trim()) {
                case "peer" -> peer = kv[1].trim();
                case "http" -> http = kv[1].trim();
                case "cbor" -> cbor = kv[1].trim();
                default -> throw new IllegalArgumentException("unknown peer attribute '" + kv[0] + "' in '" + entry
                        + "' (known: peer, http, cbor)");
            }
        }
        return new Peer(name, peer, http, cbor);
    }

    @Override
    public String clusterId() {
        return clusterId;
    }

    @Override
    public String nodeName() {
        return nodeName;
    }

    @Override
    public List<Peer> peers() {
        return peers;
    }
}
