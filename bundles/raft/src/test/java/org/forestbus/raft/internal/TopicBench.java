package org.forestbus.raft.internal;

import java.lang.annotation.Annotation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.TopicService;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.LogStoreFactory;
import org.forestbus.raft.core.RaftConfig;

/**
 * Topic-level benchmark (not a test): P producers each send batches of 100 messages of 100 bytes
 * with waitForCommit, closed loop, on real disk with the default fsync policy. Compares the
 * single-node topic of the foundation (append + group-committed fsync) with the same topic run
 * through the Raft core as a group of one, in alternating rounds, and prints msgs/s and the ratio.
 *
 * <p>Run: {@code mvn -B -q -pl bundles/raft -Pbench-topic verify} (args: dir, seconds per round, rounds).
 */
public final class TopicBench {

    interface Maker {
        TopicService open(LogStore log, TopicRuntime runtime);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args.length > 0 ? args[0] : "target/topic-bench");
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Maker single = (log, rt) -> new SingleNodeTopic("bench", "n1", log, rt.workers(), rt.timer(), 0);
        Maker raft = (log, rt) -> {
            RaftNetwork net = new RaftNetwork();
            RaftTopic t = new RaftTopic("bench", "n1", List.of("n1"), log, net, rt, TopicRuntime.RAFT_CONFIG,
                    new SplittableRandom(1), 0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (t.status().role() != org.forestbus.api.Role.LEADER && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            return t;
        };
        for (int producers : new int[] {4, 16}) {
            double[] ratios = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                double a = run("single-node", single, dir, producers, seconds);
                double b = run("raft-of-one", raft, dir, producers, seconds);
                ratios[r] = b / a;
            }
            Arrays.sort(ratios);
            System.out.printf("topic-bench producers=%d raft_vs_single median_ratio=%.3f (min %.3f, max %.3f)%n",
                    producers, ratios[rounds / 2], ratios[0], ratios[rounds - 1]);
        }
    }

    static double run(String label, Maker maker, Path dir, int producers, int seconds) throws Exception {
        deleteRecursively(dir);
        Files.createDirectories(dir);
        LogStoreFactory factory = new org.forestbus.commitlog.internal.DiskLogStoreFactory(config(dir));
        TopicRuntime runtime = new TopicRuntime();
        LogStore log = factory.open("bench", LogConfig.defaults());
        TopicService topic = maker.open(log, runtime);
        byte[] payload = new byte[100];
        new SplittableRandom(7).nextBytes(payload);
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            payloads.add(payload);
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong messages = new AtomicLong();
        AtomicBoolean measuring = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    CompletableFuture<long[]> f = topic.send(MessageBatch.of(payloads), true);
                    long[] ids = f.join();
                    if (measuring.get()) {
                        messages.addAndGet(ids.length);
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        Thread.sleep(1000); // warm-up (a benchmark, not a test)
        measuring.set(true);
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        measuring.set(false);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long n = messages.get();
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        if (topic instanceof RaftTopic rt) {
            rt.close();
        } else {
            ((SingleNodeTopic) topic).close();
        }
        runtime.close();
        double rate = n / elapsed;
        System.out.printf("%-12s producers=%2d batch=100x100B fsync: %,10.0f msgs/s %7.1f MB/s%n", label, producers, rate,
                rate * 100 / 1e6);
        return rate;
    }

    static org.forestbus.commitlog.internal.DiskStorageConfig config(Path dir) {
        return new org.forestbus.commitlog.internal.DiskStorageConfig() {
            public Class<? extends Annotation> annotationType() {
                return org.forestbus.commitlog.internal.DiskStorageConfig.class;
            }

            public String data_dir() {
                return dir.toAbsolutePath().toString();
            }

            public String sync_policy() {
                return "fsync";
            }

            public long sync_interval_ms() {
                return 1000;
            }
        };
    }

    static void deleteRecursively(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
