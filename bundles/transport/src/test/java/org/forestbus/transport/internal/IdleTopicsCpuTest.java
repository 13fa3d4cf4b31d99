package org.forestbus.transport.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.forestbus.api.transport.FrameHandler;
import org.junit.jupiter.api.Test;

/**
 * A small CPU measurement (a figure, not a benchmark): 3 transports, 1,000 topics each, every
 * topic sends one 16-byte heartbeat to each peer per 50 ms tick. Prints process CPU (which
 * includes the test's own sending thread, GC and JIT) and the transport I/O threads' share.
 */
class IdleTopicsCpuTest {

    private static final int TOPICS = 1000;
    private static final long TICK_MS = 50;

    @Test
    void thousandIdleTopicsOnThreeNodesCostLittleCpu() throws Exception {
        List<String> names = List.of("a", "b", "c");
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
        try (TestNodes nodes = new TestNodes("a", "b", "c")) {
            List<TcpPeerTransport> ts = List.of(nodes.start("c"), nodes.start("b"), nodes.start("a"));
            List<String> order = List.of("c", "b", "a");
            AtomicLong received = new AtomicLong();
            FrameHandler counter = (from, topic, payload) -> received.incrementAndGet();
            String[] topics = new String[TOPICS];
            for (int t = 0; t < TOPICS; t++) {
                topics[t] = "topic-" + t;
                for (TcpPeerTransport tr : ts) {
                    tr.register(topics[t], counter);
                }
            }
            for (int i = 0; i < 3; i++) {
                for (String peer : names) {
                    TcpPeerTransport tr = ts.get(i);
                    if (!peer.equals(order.get(i))) {
                        await().atMost(Duration.ofSeconds(10)).until(() -> TestNodes.connected(tr, peer));
                    }
                }
            }
            AtomicLong sent = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            ByteBuffer heartbeat = ByteBuffer.allocate(16);
            ticker.scheduleAtFixedRate(() -> {
                for (int i = 0; i < 3; i++) {
                    for (String peer : names) {
                        if (peer.equals(order.get(i))) {
                            continue;
                        }
                        for (String topic : topics) {
                            if (ts.get(i).send(peer, topic, heartbeat)) {
                                sent.incrementAndGet();
                            } else {
                                refused.incrementAndGet();
                            }
                        }
                    }
                }
            }, 0, TICK_MS, TimeUnit.MILLISECONDS);

            // warm up (JIT) for 1 s, then measure 4 s
            awaitTicks(sent, 20 * 6 * TOPICS);
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long cpu0 = os.getProcessCpuTime();
            long io0 = ioThreadsCpu(threads);
            long wall0 = System.nanoTime();
            long sent0 = sent.get();
            long wire0 = wireFrames(ts, order);
            awaitTicks(sent, sent0 + 80 * 6 * TOPICS);
            long wall = System.nanoTime() - wall0;
            double cpuPct = 100.0 * (os.getProcessCpuTime() - cpu0) / wall;
            double ioPct = 100.0 * (ioThreadsCpu(threads) - io0) / wall;
            long wire = wireFrames(ts, order) - wire0;
            long frames = sent.get() - sent0;
            ticker.shutdownNow();
            ticker.awaitTermination(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> received.get() == sent.get());

            System.out.printf("transport idle topics=%d nodes=3 cpu_percent_of_one_core=%.1f%n", TOPICS, cpuPct);
            System.out.printf("transport idle detail: io_threads_cpu_percent=%.1f frames_per_s=%.0f wire_frames_per_s=%.0f"
                    + " frames_per_wire_frame=%.0f refused=%d seconds=%.1f%n", ioPct, frames * 1e9 / wall, wire * 1e9 / wall,
                    (double) frames / Math.max(1, wire), refused.get(), wall / 1e9);
            assertThat(refused.get()).isZero();
            assertThat(cpuPct).as("generous bound on a shared 2-core machine").isLessThan(150.0);
        } finally {
            ticker.shutdownNow();
        }
    }

    private static void awaitTicks(AtomicLong sent, long target) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> sent.get() >= target);
    }

    private static long wireFrames(List<TcpPeerTransport> ts, List<String> order) {
        long n = 0;
        for (int i = 0; i < 3; i++) {
            for (String peer : order) {
                if (!peer.equals(order.get(i))) {
                    n += ts.get(i).wireFramesReceived(peer);
                }
            }
        }
        return n;
    }

    private static long ioThreadsCpu(ThreadMXBean mx) {
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("forestbus-transport-")) {
                long c = mx.getThreadCpuTime(t.getId());
                if (c > 0) {
                    sum += c;
                }
            }
        }
        return sum;
    }
}
