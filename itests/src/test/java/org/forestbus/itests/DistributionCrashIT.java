package org.forestbus.itests;

import static org.junit.Assert.assertEquals;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The README's node, as a user runs it: the built distribution started with {@code bin/karaf
 * server} (on free ports), 20 POSTs of 50 messages with waitForCommit, a GET walk, then
 * {@code kill -9} of the JVM, a restart, and every acknowledged message read back exactly.
 */
public class DistributionCrashIT {

    private static final Duration BOOT = Duration.ofSeconds(120);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Path home;
    private int port;
    private Process karaf;

    @Before
    public void unpack() throws IOException {
        Path assembly = Paths.get("../karaf-distribution/target/assembly").toAbsolutePath().normalize();
        assertTrue("build karaf-distribution first: " + assembly, Files.isDirectory(assembly));
        home = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "crash-node-");
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
        port = KarafTestSupport.freePort();
        append("etc/org.forestbus.http.cfg", "port = " + port);
        append("etc/org.forestbus.node.cfg", "http.address = localhost:" + port);
        append("etc/org.forestbus.cbor.cfg", "port = " + KarafTestSupport.freePort());
        append("etc/org.apache.karaf.shell.cfg", "sshPort = " + KarafTestSupport.freePort());
        replaceInFile("etc/org.apache.karaf.management.cfg", "rmiRegistryPort = 1099",
                "rmiRegistryPort = " + KarafTestSupport.freePort());
        replaceInFile("etc/org.apache.karaf.management.cfg", "rmiServerPort = 44444",
                "rmiServerPort = " + KarafTestSupport.freePort());
    }

    @After
    public void stop() {
        if (karaf != null) {
            killHard(karaf);
        }
    }

    @Test
    public void acknowledgedMessagesSurviveKillMinus9() throws Exception {
        start();
        List<String> acked = new ArrayList<>();
        long expectedId = 1;
        for (int batch = 0; batch < 20; batch++) {
            StringBuilder json = new StringBuilder("{\"waitForCommit\":true,\"messages\":[");
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                String text = "batch " + batch + " message " + i + " \u00e9";
                texts.add(text);
                json.append(i == 0 ? "" : ",").append('"').append(text).append('"');
            }
            json.append("]}");
            HttpResponse<String> r = post("/topics/default/messages", json.toString());
            assertEquals(r.body(), 200, r.statusCode());
            List<Long> ids = numbers(r.body());
            for (long id : ids) {
                assertEquals("ids are consecutive", expectedId++, id);
            }
            assertEquals(50, ids.size());
            acked.addAll(texts);
        }
        assertEquals(acked, walk());

        killHard(karaf);
        karaf = null;
        start();
        List<String> after = walk();
        assertEquals("every acknowledged message is read back exactly after kill -9", acked, after);
        System.out.println("reliability: distribution kill-9 acked=" + acked.size() + " read_back="
                + after.size() + " lost=" + (acked.size() - after.size()));
    }

    /** GET walk from index 1 following nextId until an empty page. */
    private List<String> walk() throws Exception {
        List<String> out = new ArrayList<>();
        long next = 1;
        while (true) {
            HttpResponse<String> r = get("/topics/default/messages?from=" + next + "&max=300");
            assertEquals(r.body(), 200, r.statusCode());
            Matcher m = Pattern.compile("\\{\"id\":(\\d+),\"data\":\"([^\"]*)\"\\}").matcher(r.body());
            int n = 0;
            while (m.find()) {
                assertEquals(next + n, Long.parseLong(m.group(1)));
                out.add(m.group(2));
                n++;
            }
            if (n == 0) {
                return out;
            }
            next += n;
        }
    }

    private void start() throws Exception {
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
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            karaf.waitFor(200, TimeUnit.MILLISECONDS); // bounded poll interval, ends early if Karaf dies
        }
        throw new AssertionError("node did not serve /topics/default within " + BOOT + ", see " + log);
    }

    private static void killHard(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(30, TimeUnit.SECONDS);
            p.descendants().forEach(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static List<Long> numbers(String idsJson) {
        List<Long> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\d+").matcher(idsJson.substring(idsJson.indexOf('[')));
        while (m.find()) {
            out.add(Long.parseLong(m.group()));
        }
        return out;
    }

    private void append(String file, String line) throws IOException {
        Path p = home.resolve(file);
        String old = Files.exists(p) ? Files.readString(p) : "";
        Files.writeString(p, old + System.lineSeparator() + line + System.lineSeparator());
    }

    private void replaceInFile(String file, String from, String to) throws IOException {
        Path p = home.resolve(file);
        if (Files.exists(p)) {
            Files.writeString(p, Files.readString(p).replace(from, to));
        }
    }
}
