package org.forestbus.client;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed connection string {@code clusterID#topic@node1,node2} (FORESTBUS-SPEC §7.1). Nodes are
 * CBOR-RPC addresses {@code host:port}; an empty host means localhost. Without {@code #} the part
 * before {@code @} is the cluster ID; without {@code @} there are no nodes.
 *
 * @param clusterId cluster ID ("" = not checked)
 * @param topic     default topic ("" = none)
 * @param nodes     node addresses, split on commas without trimming
 */
public record ConnectionString(String clusterId, String topic, List<String> nodes) {

    private static final Pattern PATTERN = Pattern.compile("^([^#@]*)?#?([^@]+)?@(.*)");

    public ConnectionString {
        nodes = List.copyOf(nodes);
    }

    /** Parses {@code s} exactly like the original clients. */
    public static ConnectionString parse(String s) {
        Matcher m = PATTERN.matcher(s == null ? "" : s);
        if (!m.find()) {
            return new ConnectionString("", "", List.of());
        }
        String cluster = m.group(1) == null ? "" : m.group(1);
        String topic = m.group(2) == null ? "" : m.group(2);
        String nodes = m.group(3);
        return new ConnectionString(cluster, topic, nodes.isEmpty() ? List.of() : List.of(nodes.split(",", -1)));
    }
}
