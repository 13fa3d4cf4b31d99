package org.forestbus.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The Java client library and {@code forestbus-bench} against the built distribution started with
 * {@code bin/karaf server} on free ports (like {@link DistributionCrashIT}). The client jars are
 * laid out as the distribution's {@code lib/forestbus-client/} will hold them (forestbus-client,
 * jackson-core, jackson-dataformat-cbor, picocli) and the library is driven by reflection through
 * its own class loader, so this module needs no compile dependency on it.
 */
public class ClientIT {

    private static final Duration BOOT = Duration.ofSeconds(120);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Path home;
    private Path lib;
    private int httpPort;
    private int cborPort;
    private Process karaf;
    private URLClassLoader loader;
    private Object client;

    @Before
    public void unpack() throws IOException {
        Path assembly = Paths.get("../karaf-distribution/target/assembly").toAbsolutePath().normalize();
        assertTrue("build karaf-distribution first: " + assembly, Files.isDirectory(assembly));
        home = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "client-node-");
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
        httpPort = KarafTestSupport.freePort();
        cborPort = KarafTestSupport.freePort();
        append("etc/org.forestbus.http.cfg", "port = " + httpPort);
        append("etc/org.forestbus.node.cfg", "http.address = localhost:" + httpPort);
        append("etc/org.forestbus.cbor.cfg", "port = " + cborPort);
        append("etc/org.apache.karaf.shell.cfg", "sshPort = " + KarafTestSupport.freePort());
        replaceInFile("etc/org.apache.karaf.management.cfg", "rmiRegistryPort = 1099",
                "rmiRegistryPort = " + KarafTestSupport.freePort());
        replaceInFile("etc/org.apache.karaf.management.cfg", "rmiServerPort = 44444",
                "rmiServerPort = " + KarafTestSupport.freePort());

        lib = Files.createDirectories(home.resolve("lib/forestbus-client"));
        copyInto(lib, newest(Paths.get("../bundles/client/target").toAbsolutePath().normalize(), "forestbus-client-", ".jar"));
        copyInto(lib, newest(assembly.resolve("system/com/fasterxml/jackson/core/jackson-core"), "", ""));
        copyInto(lib, newest(assembly.resolve("system/com/fasterxml/jackson/dataformat/jackson-dataformat-cbor"), "", ""));
        String repo = System.getProperty("org.ops4j.pax.url.mvn.localRepository", "");
        Path m2 = repo.isEmpty() ? Paths.get(System.getProperty("user.home"), ".m2", "repository") : Paths.get(repo);
        copyInto(lib, newest(m2.resolve("info/picocli/picocli"), "", ""));
    }

    @After
    public void stop() throws IOException {
        if (client != null) {
            try {
                call(client, "close");
            } catch (Exception e) {
                // best effort
            }
        }
        if (loader != null) {
            loader.close();
        }
        if (karaf != null) {
            killHard(karaf);
        }
    }

    @Test
    public void libraryRoundTripsExactBytesLongPollsAndBenchPrintsItsResult() throws Exception {
        start();
        String cs = "#default@127.0.0.1:" + cborPort;
        URL[] urls;
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(lib, "*.jar")) {
            List<URL> l = new ArrayList<>();
            for (Path j : jars) {
                l.add(j.toUri().toURL());
            }
            urls = l.toArray(new URL[0]);
        }
        loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
        Class<?> clientClass = loader.loadClass("org.forestbus.client.ForestBusClient");
        client = call(clientClass, "connect", cs);

        // a long poll parked before anything is sent
        CompletableFuture<?> poll = (CompletableFuture<?>) call(client, "receive", 1L, 10, true);

        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        List<byte[]> sent = new ArrayList<>();
        long expectedId = 1;
        for (int batch = 0; batch < 5; batch++) {
            List<byte[]> msgs = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                byte[] m = new byte[1 + rnd.nextInt(300)];
                rnd.nextBytes(m);
                m[0] = (byte) (i % 2 == 0 ? 0x00 : 0xff);
                msgs.add(m);
            }
            long[] ids = (long[]) get(call(client, "send", msgs, true));
            assertEquals("seed " + seed, msgs.size(), ids.length);
            for (long id : ids) {
                assertEquals("consecutive ids, seed " + seed, expectedId++, id);
            }
            sent.addAll(msgs);
        }

        Object first = get(poll);
        @SuppressWarnings("unchecked")
        List<byte[]> polled = (List<byte[]>) call(first, "payloads");
        assertFalse("the long poll returned messages", polled.isEmpty());
        assertArrayEquals("long poll got message 1, seed " + seed, sent.get(0), polled.get(0));

        List<byte[]> read = new ArrayList<>();
        long next = 1;
        while (true) {
            Object m = get(call(client, "receive", next, 64, false));
            @SuppressWarnings("unchecked")
            List<byte[]> page = (List<byte[]>) call(m, "payloads");
            if (page.isEmpty()) {
                break;
            }
            read.addAll(page);
            next += page.size();
            assertEquals(next, ((Long) call(m, "nextId")).longValue());
        }
        assertEquals("seed " + seed, sent.size(), read.size());
        for (int i = 0; i < sent.size(); i++) {
            assertArrayEquals("message " + (i + 1) + " byte-exact, seed " + seed, sent.get(i), read.get(i));
        }
        Object details = get(call(client, "topicDetails"));
        assertTrue(((Long) call(details, "commitIndex")) >= sent.size());

        try {
            get(call(client, "receive", "no-such-topic", 1L, 1, false));
            fail("unknown topic must fail");
        } catch (ExecutionException e) {
            Object reason = call(e.getCause(), "reason");
            assertEquals("TOPIC_NOT_FOUND", reason.toString());
            assertEquals(2, ((Integer) call(reason, "wireCode")).intValue());
        }
        System.out.println("client-it: sent=" + sent.size() + " read_back=" + read.size() + " long_poll=" + polled.size());

        // forestbus-bench as the distribution's script will run it
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", lib.toString() + File.separator + "*",
                "org.forestbus.client.tools.ForestBusBench", "-c", cs, "--producers", "2", "--batch", "50",
                "--size", "100", "--duration", "3", "--catch-up", "1000").redirectErrorStream(true);
        Process bench = pb.start();
        String out = new String(bench.getInputStream().readAllBytes());
        assertTrue("bench finished", bench.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, bench.exitValue());
        String[] lines = out.strip().split("\\R");
        String last = lines[lines.length - 1];
        System.out.println("client-it bench: " + last);
        assertTrue(out, last.matches("result msgs_per_s=\\d+ mb_per_s=\\d+\\.\\d+ p50_us=\\d+ p99_us=\\d+"));
        assertFalse(out, last.startsWith("result msgs_per_s=0 "));
        assertTrue(out, out.contains("progress t=1s"));
        assertTrue(out, out.contains("catchup msgs=1000 "));
    }

    // ---- reflection over the client's class loader ----

    private static Object call(Object target, String name, Object... args) throws Exception {
        Class<?> c = target instanceof Class<?> k ? k : target.getClass();
        for (Method m : c.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length && fits(m.getParameterTypes(), args)) {
                m.setAccessible(true);
                try {
                    return m.invoke(target instanceof Class<?> ? null : target, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause() instanceof Exception ex ? ex : e;
                }
            }
        }
        throw new NoSuchMethodException(c.getName() + "." + name + "/" + args.length);
    }

    private static boolean fits(Class<?>[] types, Object[] args) {
        for (int i = 0; i < types.length; i++) {
            Class<?> t = types[i];
            Object a = args[i];
            boolean ok = t == long.class ? a instanceof Long
                    : t == int.class ? a instanceof Integer
                    : t == boolean.class ? a instanceof Boolean
                    : a == null || t.isInstance(a);
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static Object get(Object future) throws Exception {
        return ((CompletableFuture<?>) future).get(60, TimeUnit.SECONDS);
    }

    // ---- node lifecycle (as DistributionCrashIT) ----

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
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/topics/default"))
                        .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && cborListening()) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            karaf.waitFor(200, TimeUnit.MILLISECONDS); // bounded poll interval, ends early if Karaf dies
        }
        throw new AssertionError("node did not serve within " + BOOT + ", see " + log);
    }

    private boolean cborListening() {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", cborPort)) {
            return true;
        } catch (IOException e) {
            return false;
        }
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

    /** The highest-named regular file under {@code dir} (recursively) whose name starts/ends as given, excluding sources/tests jars. */
    private static Path newest(Path dir, String prefix, String suffix) throws IOException {
        assertTrue("missing " + dir, Files.isDirectory(dir));
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .filter(p -> {
                        String n = p.getFileName().toString();
                        return n.endsWith(".jar") && n.startsWith(prefix) && n.endsWith(suffix)
                                && !n.endsWith("-sources.jar") && !n.endsWith("-tests.jar") && !n.endsWith("-javadoc.jar");
                    })
                    .max((a, b) -> a.toString().compareTo(b.toString()))
                    .orElseThrow(() -> new AssertionError("no jar under " + dir));
        }
    }

    private static void copyInto(Path dir, Path jar) throws IOException {
        Files.copy(jar, dir.resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
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
