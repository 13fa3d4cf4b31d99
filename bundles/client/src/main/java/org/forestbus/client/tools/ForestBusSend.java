package org.forestbus.client.tools;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.forestbus.client.ForestBusClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code forestbus-send}: lines of stdin or files become messages, sent in batches. */
@Command(name = "forestbus-send", mixinStandardHelpOptions = true, version = "forestbus-send 1.0",
        description = {"Sends each line of the input (stdin, or the given files; '-' is stdin) as one message.",
                "Prints the number of messages sent, or their ids with --ids. Exit code 1 on an error."})
public final class ForestBusSend implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-c", "--forestbus"}, defaultValue = Common.DEFAULT_CS, description = Common.CS_HELP)
    String connection;

    @Option(names = {"-b", "--batch"}, defaultValue = "100", description = "Messages per send request (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--wait", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Wait for commit before a batch counts as sent (default on; --no-wait: acknowledged when queued by the leader).")
    boolean waitForCommit;

    @Option(names = "--ids", description = "Print the id of every message, one per line, in input order.")
    boolean printIds;

    @Option(names = "--whole-file", description = "Send each file as one message instead of one message per line.")
    boolean wholeFile;

    @Option(names = "--in-flight", defaultValue = "4", description = "Send requests in flight at most (default ${DEFAULT-VALUE}).")
    int inFlight;

    @Parameters(arity = "0..*", paramLabel = "FILE", description = "Input files (default: stdin).")
    List<String> files = new ArrayList<>();

    private final Deque<CompletableFuture<long[]>> window = new ArrayDeque<>();
    private long sent;

    public static void main(String[] args) {
        System.exit(Common.run(new ForestBusSend(), args));
    }

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        try (ForestBusClient client = Common.client(spec, connection, true)) {
            List<byte[]> pending = new ArrayList<>();
            try {
                for (String f : files.isEmpty() ? List.of("-") : files) {
                    if (wholeFile && !f.equals("-")) {
                        pending.add(Files.readAllBytes(Path.of(f)));
                        flushIfFull(client, pending, out);
                        continue;
                    }
                    InputStream in = f.equals("-") ? System.in : Files.newInputStream(Path.of(f));
                    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
                    String line;
                    while ((line = r.readLine()) != null) {
                        pending.add(line.getBytes(StandardCharsets.UTF_8));
                        flushIfFull(client, pending, out);
                    }
                    if (in != System.in) {
                        in.close();
                    }
                }
                if (!pending.isEmpty()) {
                    submit(client, pending, out);
                }
                while (!window.isEmpty()) {
                    complete(out);
                }
            } catch (Exception e) {
                out.flush();
                System.err.println("forestbus-send: " + Common.unwrap(e).getMessage() + " (" + sent + " messages sent before)");
                return 1;
            }
        }
        if (!printIds) {
            out.println("Sent " + sent + " messages");
        }
        out.flush();
        return 0;
    }

    private void flushIfFull(ForestBusClient client, List<byte[]> pending, PrintStream out) throws Exception {
        if (pending.size() >= Math.max(1, batch)) {
            submit(client, pending, out);
        }
    }

    private void submit(ForestBusClient client, List<byte[]> pending, PrintStream out) throws Exception {
        if (window.size() >= Math.max(1, inFlight)) {
            complete(out);
        }
        window.add(client.send(new ArrayList<>(pending), waitForCommit));
        pending.clear();
    }

    private void complete(PrintStream out) throws Exception {
        long[] ids = window.removeFirst().get();
        sent += ids.length;
        if (printIds) {
            StringBuilder sb = new StringBuilder();
            for (long id : ids) {
                sb.append(id).append('\n');
            }
            out.print(sb);
        }
    }
}
