package org.forestbus.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.forestbus.client.tools.ForestBusAdmin;
import org.forestbus.client.tools.ForestBusBench;
import org.forestbus.client.tools.ForestBusGet;
import org.forestbus.client.tools.ForestBusSend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The tools against the fake server, with stdin/stdout redirected (tests run sequentially in this class). */
class ToolsTest {

    private final FakeTopic topic = new FakeTopic();
    private FakeServer server;
    private String cs;
    private final PrintStream stdout = System.out;
    private final InputStream stdin = System.in;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws Exception {
        server = new FakeServer(call -> call.method().equals("GetClusterDetails")
                ? java.util.concurrent.CompletableFuture.completedFuture(FakeServer.clusterResult("c1"))
                : call.method().equals("GetTopicDetails")
                ? java.util.concurrent.CompletableFuture.completedFuture(FakeServer.topicResult(0, 1, topic.log.size(), topic.log.size()))
                : topic.handle(call));
        cs = "#t@" + server.address();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void stop() throws Exception {
        System.setOut(stdout);
        System.setIn(stdin);
        server.close();
    }

    private String run(Object tool, String stdinText, String... args) {
        System.setIn(new ByteArrayInputStream(stdinText.getBytes(StandardCharsets.UTF_8)));
        captured.reset();
        int rc = new CommandLine(tool).execute(args);
        assertThat(rc).as(captured.toString(StandardCharsets.UTF_8)).isZero();
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
}
