package org.forestbus.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.forestbus.client.tools.ForestBusAdmin;
import org.forestbus.client.tools.ForestBusBench;
import org.forestbus.client.tools.ForestBusGet;
import org.forestbus.client.tools.ForestBusSend;
import org.forestbus.client.tools.ToolHooks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The tools against the fake server, with stdin/stdout/stderr redirected (tests run sequentially in this class). */
class ToolsTest {

    /** Budget of a client operation's retries in {@link #getFollowRidesOutAnOutageLongerThanTheClientsRetryBudget}. */
    private static final Duration RETRY_BUDGET = Duration.ofMillis(250);

    private final FakeTopic topic = new FakeTopic();
    /** Topic "t" is {@link #topic}; reads and sends of any other topic answer code 2 (TOPIC_NOT_FOUND). */
    private final FakeServer.Handler handler = call -> switch (call.method()) {
        case "GetClusterDetails" -> CompletableFuture.completedFuture(FakeServer.clusterResult("c1"));
        case "GetTopicDetails" -> CompletableFuture.completedFuture(FakeServer.topicResult(0, 1, topic.log.size(), topic.log.size()));
        default -> "t".equals(call.args().get("Topic")) ? topic.handle(call)
                : call.method().equals("SendMessages") ? FakeServer.sendResult(2, "")
                : CompletableFuture.completedFuture(FakeServer.receiveResult(2, Wire.number(call.args(), "ID"), null, false));
    };
    private FakeServer server;
    private String cs;
    private final PrintStream stdout = System.out;
    private final PrintStream stderr = System.err;
    private final InputStream stdin = System.in;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private final ByteArrayOutputStream capturedErr = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws Exception {
        server = new FakeServer(handler);
        cs = "#t@" + server.address();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(capturedErr, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void stop() throws Exception {
        System.setOut(stdout);
        System.setErr(stderr);
        System.setIn(stdin);
        server.close();
        stderr.print(err()); // still shown, after the test
    }

    private String out() {
        return captured.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return capturedErr.toString(StandardCharsets.UTF_8);
    }

    private static List<byte[]> messages(String... texts) {
        return Stream.of(texts).map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
    }

    private String run(Object tool, String stdinText, String... args) {
        System.setIn(new ByteArrayInputStream(stdinText.getBytes(StandardCharsets.UTF_8)));
        captured.reset();
        int rc = new CommandLine(tool).execute(args);
        assertThat(rc).as(captured.toString(StandardCharsets.UTF_8) + err()).isZero();
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void sendGetAdminAndBench() {
        assertThat(run(new ForestBusSend(), "a\nb\nc\n", "-c", cs, "--batch", "2", "--ids")).isEqualTo("1\n2\n3\n");
        assertThat(topic.batchSizes).containsExactly(2, 1);
        assertThat(run(new ForestBusGet(), "", "-c", cs, "--index", "2")).isEqualTo("b\nc\n");
        assertThat(run(new ForestBusGet(), "", "-c", cs, "--format", "hex", "--ids", "-n", "1")).isEqualTo("1\t61\n");
        assertThat(run(new ForestBusAdmin(), "", "-c", cs)).contains("clusterId=c1").contains("topic t: first=1 last=3 commit=3");

        String out = run(new ForestBusBench(), "", "-c", cs, "--producers", "2", "--batch", "10", "--warmup", "0.5", "--duration", "1.2",
                "--catch-up", "50");
        List<String> lines = out.lines().toList();
        assertThat(lines).anyMatch(l -> l.startsWith("progress t=1s msgs="));
        assertThat(lines).anyMatch(l -> l.startsWith("catchup msgs=50 "));
        assertThat(lines.get(lines.size() - 1)).matches("result msgs_per_s=[1-9]\\d* mb_per_s=\\d+\\.\\d\\d p50_us=\\d+ p99_us=\\d+");
    }

    @Test
    void getFollowRidesOutAnOutageLongerThanTheClientsRetryBudget() throws Exception {
        topic.append(messages("m1", "m2", "m3"));
        ForestBusGet get = ToolHooks.get(b -> b.retryTimeout(RETRY_BUDGET).initialBackoff(Duration.ofMillis(10))
                .maxBackoff(Duration.ofMillis(50)), 20, 100);
        AtomicInteger rc = new AtomicInteger(-1);
        Thread tool = new Thread(() -> rc.set(new CommandLine(get).execute("-c", cs, "--follow", "--batch", "2")), "forestbus-get");
        tool.start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> out().equals("m1\nm2\nm3\n"));
            int port = server.port();
            server.close(); // the long poll breaks; reconnecting is refused
            long stopped = System.nanoTime();
            // a read fails only once the client's budget is spent: the outage outlasted it
            await().atMost(Duration.ofSeconds(10)).until(() -> !tool.isAlive() || err().contains("cannot read from"));
            assertThat(tool.isAlive()).as("forestbus-get ended with %s; stderr:%n%s", rc, err()).isTrue();
            // and it lasts several budgets, so several reads fail in turn
            await().atMost(Duration.ofSeconds(10)).until(() -> System.nanoTime() - stopped > 4 * RETRY_BUDGET.toNanos());
            assertThat(tool.isAlive()).as("forestbus-get ended with %s; stderr:%n%s", rc, err()).isTrue();

            topic.append(messages("m4", "m5", "m6"));
            server = new FakeServer(handler, port); // the node is back, same address
            await().atMost(Duration.ofSeconds(10)).until(() -> out().length() >= "m1\nm2\nm3\nm4\nm5\nm6\n".length());
            topic.append(messages("m7")); // and it follows on with long polls
            await().atMost(Duration.ofSeconds(10)).until(() -> out().length() >= "m1\nm2\nm3\nm4\nm5\nm6\nm7\n".length());
            assertThat(out()).isEqualTo("m1\nm2\nm3\nm4\nm5\nm6\nm7\n");
            assertThat(tool.isAlive()).as("forestbus-get ended with %s; stderr:%n%s", rc, err()).isTrue();
            List<String> lines = err().lines().toList();
            assertThat(lines).filteredOn(l -> l.contains("cannot read from")).singleElement().asString()
                    .startsWith("forestbus-get: cannot read from t@" + server.address() + ": CONNECTION: ");
            assertThat(lines).filteredOn(l -> l.contains("reading again")).containsExactly("forestbus-get: reading again at index 4");
        } finally {
            tool.interrupt(); // Ctrl-C ends the JVM instead, with the same exit code 130
            tool.join(10_000);
        }
        assertThat(tool.isAlive()).isFalse();
        assertThat(rc.get()).isEqualTo(130);
        assertThat(out()).isEqualTo("m1\nm2\nm3\nm4\nm5\nm6\nm7\n");
        assertThat(err()).endsWith("Received 7 messages starting at index 1; next index 8\n");
    }

    @Test
    void getFollowEndsOnAnUnknownTopic() {
        int rc = new CommandLine(new ForestBusGet()).execute("-c", "#nosuch@" + server.address(), "--follow");
        assertThat(rc).as(err()).isEqualTo(1);
        assertThat(out()).isEmpty();
        assertThat(err()).startsWith("forestbus-get: cannot read from nosuch@" + server.address() + ": TOPIC_NOT_FOUND: ");
        assertThat(err().lines()).hasSize(1);
    }
}
