package org.forestbus.client.tools;

import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;
import org.forestbus.client.ConnectionString;
import org.forestbus.client.ForestBusClient;
import picocli.CommandLine;

/** Shared pieces of the command-line tools. */
final class Common {

    /** Default connection string: {@code $FORESTBUS}, else topic "default" on localhost:5000. */
    static final String DEFAULT_CS = "${env:FORESTBUS:-#default@localhost:5000}";
    static final String CS_HELP = "Connection string clusterID#topic@host:port[,host:port...] of the nodes' CBOR-RPC "
            + "listeners (default: $FORESTBUS or ${DEFAULT-VALUE}).";

    private Common() {
    }

    static ForestBusClient client(CommandLine.Model.CommandSpec spec, String cs, boolean needTopic) {
        return client(spec, cs, needTopic, UnaryOperator.identity());
    }

    /** {@link #client(CommandLine.Model.CommandSpec, String, boolean)} with {@code settings} applied after the connection string. */
    static ForestBusClient client(CommandLine.Model.CommandSpec spec, String cs, boolean needTopic,
            UnaryOperator<ForestBusClient.Builder> settings) {
        ConnectionString parsed = ConnectionString.parse(cs);
        if (parsed.nodes().isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "no nodes in connection string '" + cs + "'");
        }
        if (needTopic && parsed.topic().isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "no topic in connection string '" + cs + "' (use #topic@)");
        }
        return settings.apply(ForestBusClient.builder().connectionString(cs)).build();
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static int run(Object command, String[] args) {
        return new CommandLine(command).execute(args);
    }
}
