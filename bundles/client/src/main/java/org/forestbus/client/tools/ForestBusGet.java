package org.forestbus.client.tools;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;
import org.forestbus.client.ForestBusClient;
import org.forestbus.client.ForestBusClientException;
import org.forestbus.client.ForestBusClientException.Reason;
import org.forestbus.client.Messages;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code forestbus-get}: prints messages of a topic, one per line. */
@Command(name = "forestbus-get", mixinStandardHelpOptions = true, version = "forestbus-get 1.0",
        description = {"Prints committed messages of the topic from an index, one per line.",
                "Without --follow it stops at the end of the committed log (or after --quantity messages);",
                "with --follow it long-polls forever and rides out outages. A summary goes to stderr."})
public final class ForestBusGet implements Callable<Integer> {

    /** With --follow, the pause after a read failed for a reason that can pass (see {@link Reason#retried()}). */
    static final long FIRST_RETRY_PAUSE_MS = 1_000;
    /** With --follow, the pause doubles after every further failed read up to this. */
    static final long MAX_RETRY_PAUSE_MS = 10_000;
    /** Exit code when interrupted, as for Ctrl-C (128 + SIGINT). */
    static final int EXIT_INTERRUPTED = 130;

    enum Format { text, base64, hex }

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-c", "--forestbus"}, defaultValue = Common.DEFAULT_CS, description = Common.CS_HELP)
    String connection;

    @Option(names = {"-i", "--index"}, defaultValue = "1", description = "First index to read (default ${DEFAULT-VALUE}).")
    long index;

    @Option(names = {"-n", "--quantity"}, defaultValue = "0", description = "Stop after this many messages (default 0: no limit).")
    long quantity;

    @Option(names = {"-f", "--follow"}, description = "Keep reading forever, long-polling for new messages. Rides out outages: when "
            + "the nodes cannot be read (unreachable, timing out, no leader, shutting down) even after the client's retries, "
            + "it says so once on stderr, tries again after " + FIRST_RETRY_PAUSE_MS / 1000 + " s (doubling up to "
            + MAX_RETRY_PAUSE_MS / 1000 + " s) until it can, and carries on at the next index. Other errors (e.g. an unknown "
            + "topic) end it with exit code 1.")
    boolean follow;

    @Option(names = {"-w", "--wait"}, description = "Long-poll until at least one message is available (then stop at the end as usual).")
    boolean waitFirst;

    @Option(names = "--format", defaultValue = "text", description = "Output: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}; text writes the raw bytes).")
    Format format;

    @Option(names = "--ids", description = "Prefix every line with the message's index and a tab.")
    boolean ids;

    @Option(names = "--batch", defaultValue = "500", description = "Messages asked for per request (default ${DEFAULT-VALUE}).")
    int batch;

    /** Client settings applied after the connection string; tests shorten the retry budget here. */
    UnaryOperator<ForestBusClient.Builder> clientSettings = UnaryOperator.identity();
    /** {@link #FIRST_RETRY_PAUSE_MS} and {@link #MAX_RETRY_PAUSE_MS}; tests shorten them. */
    long firstRetryPauseMs = FIRST_RETRY_PAUSE_MS;
    long maxRetryPauseMs = MAX_RETRY_PAUSE_MS;

    public static void main(String[] args) {
        System.exit(Common.run(new ForestBusGet(), args));
    }

    /**
     * Reads from {@code --index} and prints. A failed read ends it (exit code 1), except with
     * --follow one that can pass ({@link Reason#retried()}): then it pauses and reads from the same
     * index again, so no message is skipped or printed twice. An interruption ends it with
     * {@link #EXIT_INTERRUPTED} after the summary.
     */
    @Override
    public Integer call() throws IOException {
        OutputStream out = new BufferedOutputStream(System.out, 1 << 16);
        long next = Math.max(1, index);
        long start = next;
        long received = 0;
        String source = connection;
        try (ForestBusClient client = Common.client(spec, connection, true, clientSettings)) {
            source = client.topic() + "@" + String.join(",", client.nodes());
            boolean wait = follow || waitFirst;
            long pauseMs = 0; // with --follow while reads fail: the last pause
            while (quantity <= 0 || received < quantity) {
                int ask = (int) Math.min(Math.max(1, batch), quantity <= 0 ? Integer.MAX_VALUE : quantity - received);
                Messages m;
                try {
                    m = client.receive(next, ask, wait).get();
                } catch (ExecutionException e) {
                    if (!follow || !(Common.unwrap(e) instanceof ForestBusClientException fe) || !fe.reason().retried()) {
                        throw e;
                    }
                    if (pauseMs == 0) {
                        System.err.println("forestbus-get: cannot read from " + source + ": " + fe.getMessage() + "; retrying after "
                                + duration(firstRetryPauseMs) + ", backing off to " + duration(maxRetryPauseMs));
                    }
                    pauseMs = pauseMs == 0 ? firstRetryPauseMs : Math.min(maxRetryPauseMs, 2 * pauseMs);
                    Thread.sleep(pauseMs);
                    continue; // from the same index
                }
                if (pauseMs > 0) {
                    System.err.println("forestbus-get: reading again at index " + next);
                    pauseMs = 0;
                }
                if (m.isEmpty()) {
                    if (m.nextId() > next) { // requested index was cleaned up
                        next = m.nextId();
                        continue;
                    }
                    if (!follow && !(waitFirst && received == 0)) {
                        break;
                    }
                    continue; // long poll expired on the server: poll again
                }
                for (int i = 0; i < m.size() && (quantity <= 0 || received < quantity); i++) {
                    write(out, next + i, m.payloads().get(i));
                    received++;
                }
                next += m.size();
                out.flush();
                wait = follow;
            }
        } catch (InterruptedException e) {
            out.flush();
            System.err.println(summary(received, start, next));
            Thread.currentThread().interrupt();
            return EXIT_INTERRUPTED;
        } catch (ExecutionException e) {
            out.flush();
            System.err.println("forestbus-get: cannot read from " + source + ": " + Common.unwrap(e).getMessage());
            return 1;
        } catch (Exception e) {
            out.flush();
            System.err.println("forestbus-get: " + Common.unwrap(e).getMessage());
            return 1;
        }
        out.flush();
        System.err.println(summary(received, start, next));
        return 0;
    }

    private static String summary(long received, long start, long next) {
        return "Received " + received + " messages starting at index " + start + "; next index " + next;
    }

    private static String duration(long ms) {
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }

    private void write(OutputStream out, long id, byte[] payload) throws IOException {
        if (ids) {
            out.write((id + "\t").getBytes(StandardCharsets.US_ASCII));
        }
        switch (format) {
            case base64 -> out.write(Base64.getEncoder().encode(payload));
            case hex -> out.write(HexFormat.of().formatHex(payload).getBytes(StandardCharsets.US_ASCII));
            default -> out.write(payload);
        }
        out.write('\n');
    }
}
