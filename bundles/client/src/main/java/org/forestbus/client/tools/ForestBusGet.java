package org.forestbus.client.tools;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import org.forestbus.client.ForestBusClient;
import org.forestbus.client.Messages;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code forestbus-get}: prints messages of a topic, one per line. */
@Command(name = "forestbus-get", mixinStandardHelpOptions = true, version = "forestbus-get 1.0",
        description = {"Prints committed messages of the topic from an index, one per line.",
                "Without --follow it stops at the end of the committed log (or after --quantity messages);",
                "with --follow it long-polls forever. A summary goes to stderr."})
public final class ForestBusGet implements Callable<Integer> {

    enum Format { text, base64, hex }

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-c", "--forestbus"}, defaultValue = Common.DEFAULT_CS, description = Common.CS_HELP)
    String connection;

    @Option(names = {"-i", "--index"}, defaultValue = "1", description = "First index to read (default ${DEFAULT-VALUE}).")
    long index;

    @Option(names = {"-n", "--quantity"}, defaultValue = "0", description = "Stop after this many messages (default 0: no limit).")
    long quantity;

    @Option(names = {"-f", "--follow"}, description = "Keep reading forever, long-polling for new messages.")
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

    public static void main(String[] args) {
        System.exit(Common.run(new ForestBusGet(), args));
    }

    @Override
    public Integer call() throws IOException {
        OutputStream out = new BufferedOutputStream(System.out, 1 << 16);
        long next = Math.max(1, index);
        long start = next;
        long received = 0;
        try (ForestBusClient client = Common.client(spec, connection, true, clientSettings)) {
            boolean wait = follow || waitFirst;
            while (quantity <= 0 || received < quantity) {
                int ask = (int) Math.min(Math.max(1, batch), quantity <= 0 ? Integer.MAX_VALUE : quantity - received);
                Messages m = client.receive(next, ask, wait).get();
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
        } catch (Exception e) {
            out.flush();
            System.err.println("forestbus-get: " + Common.unwrap(e).getMessage());
            return 1;
        }
        out.flush();
        System.err.println("Received " + received + " messages starting at index " + start + "; next index " + next);
        return 0;
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
