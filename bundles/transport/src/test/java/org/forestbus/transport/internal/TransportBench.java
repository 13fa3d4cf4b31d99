package org.forestbus.transport.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Loopback benchmark of two transports in one JVM: one-way throughput per payload size (sender
 * spins while the 64 MiB queue is full) and ping-pong round trips. Prints one line per figure.
 *
 * <pre>
 * mvn -B -q -o install -pl bundles/api -DskipTests
 * mvn -B -q -o -pl bundles/transport test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=org.forestbus.transport.internal.TransportBench
 * </pre>
 */
public final class TransportBench {

    public static void main(String[] args) throws Exception {
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 3;
        try (TestNodes nodes = new TestNodes("a", "b")) {
            TcpPeerTransport b = nodes.start("b");
            TcpPeerTransport a = nodes.start("a");
            while (!TestNodes.connected(a, "b") || !TestNodes.connected(b, "a")) {
                Thread.sleep(10);
            }
            AtomicLong frames = new AtomicLong();
            AtomicLong bytes = new AtomicLong();
            b.register("bulk", (from, topic, payload) -> {
                frames.incrementAndGet();
                bytes.addAndGet(payload.remaining());
            });
            for (int size : new int[] {64, 1024, 16 * 1024, 256 * 1024}) {
                throughput(a, b, size, seconds, frames, bytes);
            }
            rtt(a, b, 20_000);
        }
    }

    private static void throughput(TcpPeerTransport a, TcpPeerTransport b, int size, long seconds, AtomicLong frames,
                                   AtomicLong bytes) {
        ByteBuffer payload = ByteBuffer.allocate(size);
        long sent = 0;
        long refusals = 0;
        long f0 = frames.get();
        long b0 = bytes.get();
        long w0 = b.wireFramesReceived("a");
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            if (a.send("b", "bulk", payload)) {
                sent++;
            } else {
                refusals++;
                Thread.onSpinWait();
            }
        }
        while (frames.get() - f0 < sent) {
            Thread.onSpinWait();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        long n = frames.get() - f0;
        System.out.printf("transport bench payload=%d frames_per_s=%.0f MiB_per_s=%.1f frames_per_wire_frame=%.1f"
                + " send_refusals=%d seconds=%.1f%n", size, n / s, (bytes.get() - b0) / s / (1 << 20),
                (double) n / Math.max(1, b.wireFramesReceived("a") - w0), refusals, s);
    }

    private static void rtt(TcpPeerTransport a, TcpPeerTransport b, int n) throws Exception {
        b.register("ping", (from, topic, payload) -> b.send(from, "pong", payload)); // echo on b's I/O thread
        AtomicReference<CountDownLatch> pong = new AtomicReference<>();
        a.register("pong", (from, topic, payload) -> pong.get().countDown());
        long[] rtts = new long[n];
        ByteBuffer p = ByteBuffer.allocate(64);
        for (int i = 0; i < n; i++) {
            CountDownLatch latch = new CountDownLatch(1);
            pong.set(latch);
            long t0 = System.nanoTime();
            if (!a.send("b", "ping", p) || !latch.await(5, TimeUnit.SECONDS)) {
                throw new IllegalStateException("ping " + i + " lost");
            }
            rtts[i] = System.nanoTime() - t0;
        }
        Arrays.sort(rtts);
        System.out.printf("transport bench rtt payload=64 n=%d p50_us=%.0f p99_us=%.0f max_us=%.0f%n", n,
                rtts[n / 2] / 1e3, rtts[(int) (n * 0.99)] / 1e3, rtts[n - 1] / 1e3);
    }
}
