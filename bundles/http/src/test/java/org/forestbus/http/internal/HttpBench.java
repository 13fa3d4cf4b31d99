package org.forestbus.http.internal;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.ReadResult;

/**
 * Throughput of the HTTP endpoint against an in-memory topic (so the figures bound the HTTP
 * layer, not storage or Raft). Not a test: run it with
 * {@code mvn -q -pl bundles/http test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.mainClass=org.forestbus.http.internal.HttpBench -Dexec.classpathScope=test}.
 * Arguments: seconds per phase (default 3), client threads (default 4).
 */
public final class HttpBench {

    private HttpBench() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        System.out.printf("HttpBench: %d s per phase, %d client threads, %d cores, Java %s%n",
                seconds, threads, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));

        encoderOnly(seconds);

        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        FakeTopic topic = new FakeTopic("bench", "n1", timer);
        HttpEndpoint endpoint = new HttpEndpoint(new Fakes.Registry().add(topic), new Fakes.Node(),
                Settings.defaults().withStopTimeoutMs(100));
        ExecutorService pool = Executors.newFixedThreadPool(threads + 2);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool).build();
        try {
            String base = "http://127.0.0.1:" + endpoint.port() + "/topics/bench/messages";
            byte[] hundred = "x".repeat(100).getBytes(StandardCharsets.UTF_8);
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                batch.add(hundred);
            }
            topic.send(MessageBatch.of(batch), true);

            String ten = "{\"messages\":[" + String.join(",", java.util.Collections.nCopies(10, "\"" + "y".repeat(100) + "\"")) + "]}";
            run("send  10 x 100 B, JSON         ", seconds, threads, 10 * 100, () -> HttpRequest.newBuilder(URI.create(base))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(ten)).build(), client);
            run("read 500 x 100 B, JSON utf8    ", seconds, threads, 500 * 100, () -> HttpRequest.newBuilder(
                    URI.create(base + "?from=1&max=500")).build(), client);
            run("read 500 x 100 B, JSON base64  ", seconds, threads, 500 * 100, () -> HttpRequest.newBuilder(
                    URI.create(base + "?from=1&max=500&encoding=base64")).build(), client);
            run("read 500 x 100 B, CBOR         ", seconds, threads, 500 * 100, () -> HttpRequest.newBuilder(
                    URI.create(base + "?from=1&max=500")).header("Accept", "application/cbor").build(), client);
        } finally {
            endpoint.deactivate();
            pool.shutdownNow();
            timer.shutdownNow();
        }
    }

    interface RequestFactory {
        HttpRequest next();
    }

    private static void run(String name, int seconds, int threads, long payloadBytesPerRequest, RequestFactory rf,
                            HttpClient client) throws Exception {
        ExecutorService workers = Executors.newFixedThreadPool(threads);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long t0 = System.nanoTime();
        List<Future<long[]>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            fs.add(workers.submit(() -> {
                long n = 0;
                long bytes = 0;
                while (System.nanoTime() < end) {
                    HttpResponse<byte[]> r = client.send(rf.next(), HttpResponse.BodyHandlers.ofByteArray());
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException(r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8));
                    }
                    n++;
                    bytes += r.body().length;
                }
                return new long[] {n, bytes};
            }));
        }
        long n = 0;
        long wire = 0;
        for (Future<long[]> f : fs) {
            long[] v = f.get();
            n += v[0];
            wire += v[1];
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        workers.shutdown();
        System.out.printf("%s %8.0f req/s  %7.1f MB/s payload  %7.1f MB/s response bodies%n",
                name, n / secs, n * payloadBytesPerRequest / secs / 1e6, wire / secs / 1e6);
    }

    /** The response encoder alone (no HTTP), 500 x 100 B. */
    private static void encoderOnly(int seconds) {
        Wire wire = new Wire(16 << 20, 10_000);
        byte[][] payloads = new byte[500][];
        Arrays.fill(payloads, "z".repeat(100).getBytes(StandardCharsets.UTF_8));
        ReadResult r = new ReadResult(MessageBatch.of(Arrays.asList(payloads)), 1, 501, 500);
        for (Wire.Encoding enc : Wire.Encoding.values()) {
            for (boolean cbor : new boolean[] {false, true}) {
                if (cbor && enc == Wire.Encoding.BASE64) {
                    continue; // CBOR ignores the encoding
                }
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(seconds * 500L);
                long n = 0;
                long t0 = System.nanoTime();
                long sink = 0;
                while (System.nanoTime() < end) {
                    ByteBuffer b = wire.messages(cbor, r, enc);
                    sink += b.remaining();
                    n++;
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf("encode 500 x 100 B, %-4s %-6s %8.0f docs/s  %7.1f MB/s payload  (%d B/doc)%n",
                        cbor ? "CBOR" : "JSON", cbor ? "" : enc.name().toLowerCase(), n / secs, n * 50_000 / secs / 1e6, sink / n);
            }
        }
    }
}
