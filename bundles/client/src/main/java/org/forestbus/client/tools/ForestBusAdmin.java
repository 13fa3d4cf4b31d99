package org.forestbus.client.tools;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.forestbus.client.ClusterDetails;
import org.forestbus.client.ConnectionString;
import org.forestbus.client.ForestBusClient;
import org.forestbus.client.TopicDetails;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code forestbus-admin}: cluster status as seen by every node. */
@Command(name = "forestbus-admin", mixinStandardHelpOptions = true, version = "forestbus-admin 1.0",
        description = {"Shows the cluster status from every node of the connection string: cluster ID, peers, "
                + "topics, and per topic the node's first, last and commit index. Exit code 0 when every node "
                + "answered, 1 otherwise.",
                "Topic, member and leader changes: the Karaf shell (forestbus:topic-*) or the HTTP API."})
public final class ForestBusAdmin implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-c", "--forestbus"}, defaultValue = Common.DEFAULT_CS, description = Common.CS_HELP)
    String connection;

    @Option(names = {"-t", "--topic"}, description = "Only this topic (default: all topics of each node).")
    List<String> topics = new ArrayList<>();

    @Option(names = "--timeout-ms", defaultValue = "3000", description = "Per-node timeout (default ${DEFAULT-VALUE} ms).")
    long timeoutMs;

    public static void main(String[] args) {
        System.exit(Common.run(new ForestBusAdmin(), args));
    }

    @Override
    public Integer call() {
        Common.client(spec, connection, false).close(); // validates the string
        ConnectionString cs = ConnectionString.parse(connection);
        int failed = 0;
        try (ForestBusClient client = ForestBusClient.builder().connectionString(connection)
                .callTimeout(Duration.ofMillis(timeoutMs)).connectTimeout(Duration.ofMillis(timeoutMs))
                .retryTimeout(Duration.ofMillis(timeoutMs)).build()) {
            for (String node : cs.nodes()) {
                try {
                    ClusterDetails d = client.clusterDetails(node).get();
                    System.out.println("node " + node + ": clusterId=" + (d.clusterId().isEmpty() ? "\"\"" : d.clusterId())
                            + " peers=" + d.peers() + " topics=" + d.topics());
                    for (String t : topics.isEmpty() ? d.topics().stream().sorted().toList() : topics) {
                        try {
                            TopicDetails td = client.topicDetails(node, t).get();
                            System.out.println("  topic " + t + ": first=" + td.firstIndex() + " last=" + td.lastIndex()
                                    + " commit=" + td.commitIndex());
                        } catch (Exception e) {
                            System.out.println("  topic " + t + ": " + Common.unwrap(e).getMessage());
                        }
                    }
                } catch (Exception e) {
                    failed++;
                    System.out.println("node " + node + ": unreachable (" + Common.unwrap(e).getMessage() + ")");
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }
}
