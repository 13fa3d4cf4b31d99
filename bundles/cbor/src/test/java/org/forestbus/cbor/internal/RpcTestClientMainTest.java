package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The command-line mode of the test client, as an acceptance script would use it. */
class RpcTestClientMainTest extends ServerTestSupport {

    private String run(String... args) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            RpcTestClient.main(args);
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void sendGetDetailsAndClusterFromTheCommandLine() throws Exception {
        start();
        registry.add(new FakeTopic("t"));
        String addr = "127.0.0.1:" + server.port();
        assertThat(run(addr, "send", "t", "hello", "world")).contains("\"IDs\":[1,2]").contains("\"Code\":0");
        assertThat(run(addr, "get", "t", "1", "10")).contains("\"NextID\":3").contains("message: hello")
                .contains("message: world");
        assertThat(run(addr, "details", "t")).contains("\"CommitIndex\":2");
        assertThat(run(addr, "cluster")).contains("\"ClusterID\":\"c1\"").contains("\"Topics\":[\"t\"]");
    }
}
