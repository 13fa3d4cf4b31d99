package org.forestbus.itests;

import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real node as users run it: a copy of the built distribution ({@code
 * karaf-distribution/target/assembly}) with free ports written into its etc/*.cfg, started with
 * {@code bin/karaf server} and killed with SIGKILL.
 */
final class NodeProcess implements AutoCloseable {

    static final Duration BOOT = Duration.ofSeconds(120);

    final Path home;
    final int httpPort = KarafTestSupport.freePort();
    final int cborPort = KarafTestSupport.freePort();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process karaf;

    NodeProcess() throws IOException {
        Path assembly = Paths.get("../karaf-distribution/target/assembly").toAbsolutePath().normalize();
        assertTrue("build karaf-distribution first: " + assembly, Files.isDirectory(assembly));
        home = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "node-");
        try (Stream<Path> files = Files.walk(assembly)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path dest = home.resolve(assembly.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        append("etc/org.forestbus.http.cfg", "port = " + httpPort);
        append("etc/org.forestbus.node.cfg", "http.address = localhost:" + httpPort);
        append("etc/org.forestbus.node.cfg", "cbor.address = localhost:" + cborPort);
        append("etc/org.forestbus.cbor.cfg", "port = " + cborPort);
        append("etc/org.forestbus.transport.cfg", "port = " + KarafTestSupport.freePort());
        append("etc/org.apache.karaf.shell.cfg", "sshPort = " + KarafTestSupport.freePort());
    }

    /** Starts Karaf and waits until the 'default' topic answers over HTTP. */
    NodeProcess start() throws Exception {
        File log = home.resolve("karaf-console.log").toFile();
        ProcessBuilder pb = new ProcessBuilder("bin/karaf", "server").directory(home.toFile())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        pb.environment().remove("JAVA_OPTS");
        karaf = pb.start();
        long deadline = System.nanoTime() + BOOT.toNanos();
        while (System.nanoTime() < deadline) {
            assertTrue("karaf exited early, see " + log, karaf.isAlive());
            try {
                if (get("/topics/default").statusCode() == 200) {
                    return this;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            karaf.waitFor(200, TimeUnit.MILLISECONDS); // bounded poll interval, ends early if Karaf dies
        }
        throw new AssertionError("node did not serve /topics/default within " + BOOT + ", see " + log);
    }

    /** SIGKILL to the JVM and its children (no shutdown hooks run). */
    void killHard() {
        if (karaf == null) {
            return;
        }
        karaf.descendants().forEach(ProcessHandle::destroyForcibly);
        karaf.destroyForcibly();
        try {
            karaf.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        karaf = null;
    }

    @Override
    public void close() {
        killHard();
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private void append(String file, String line) throws IOException {
        Path p = home.resolve(file);
        String old = Files.exists(p) ? Files.readString(p) : "";
        Files.writeString(p, old + System.lineSeparator() + line + System.lineSeparator());
    }
}
