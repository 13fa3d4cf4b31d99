package org.forestbus.commitlog.internal.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStore;
import org.forestbus.commitlog.internal.BenchAccess;

/**
 * Durable append and sequential read throughput of the disk log on real disk.
 * 100-byte messages in batches of 100, default FSYNC policy (group commit). Each appender takes
 * the store's write lock, appends, releases it, then waits for its sync future — the way the
 * topic service uses the store. Run: {@code mvn -B -q -pl bundles/commitlog -Pbench verify}
 * (args: data dir, seconds per phase).
 */
public final class LogStoreBench {

    private static final int MSG = 100;
    private static final int BATCH = 100;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/bench-data");
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        deleteTree(dir);
        Files.createDirectories(dir);
        BenchAccess.Factory factory = BenchAccess.factory(dir);
        try {
            System.out.printf("commitlog bench: %d-byte messages, batches of %d, FSYNC group commit, %d s per phase, dir %s%n",
                    MSG, BATCH, seconds, dir);
            appendPhase(factory, "w4", 4, 2, false);
            long w4 = appendPhase(factory, "w4", 4, seconds, true);
            long w16 = appendPhase(factory, "w16", 16, seconds, true);
            readPhase(factory, "w4", w4);
            readPhase(factory, "w16", w16);
        } finally {
            factory.close();
            deleteTree(dir);
        }
    }

    /** @return messages in the log after the phase */
    private static long appendPhase(BenchAccess.Factory factory, String topic, int appenders, int seconds, boolean print)
            throws Exception {
        LogStore store = factory.open(topic, LogConfig.defaults());
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < BATCH; i++) {
            byte[] p = new byte[MSG];
            for (int k = 0; k < MSG; k++) {
                p[k] = (byte) (i + k);
            }
            payloads.add(p);
        }
        MessageBatch batch = MessageBatch.of(payloads).stampTerm(1);
        ReentrantLock writeLock = new ReentrantLock();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong acked = new AtomicLong();
        long rounds0 = BenchAccess.fsyncRounds(store);
        long fn0 = BenchAccess.FORCE_NANOS.get();
        long fc0 = BenchAccess.FORCES.get();
        long sf0 = BenchAccess.SLOW_FORCES.get();
        long sn0 = BenchAccess.SLOW_NANOS.get();
        long first = store.lastIndex();
        List<Thread> threads = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < appenders; t++) {
            Thread th = new Thread(() -> {
                while (!stop.get()) {
                    writeLock.lock();
                    try {
                        store.append(batch);
                    } finally {
                        writeLock.unlock();
                    }
                    store.sync().join();
                    acked.addAndGet(BATCH);
                }
            }, "appender-" + t);
            th.start();
            threads.add(th);
        }
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
        stop.set(true);
        for (Thread th : threads) {
            th.join();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long rounds = BenchAccess.fsyncRounds(store) - rounds0;
        long msgs = acked.get();
        if (print) {
            System.out.printf("append %2d appenders: %,.0f msgs/s durable, %.1f MB/s payload (%.1f MB/s on disk), "
                            + "%,d fsync rounds (%.0f msgs per fsync, %.3f ms per round), %s%n",
                    appenders, msgs / secs, msgs * MSG / secs / 1e6, msgs * (MSG + MessageBatch.HEADER_SIZE) / secs / 1e6,
                    rounds, (double) msgs / Math.max(1, rounds), secs * 1000 / Math.max(1, rounds), store.stats());
            long fc = BenchAccess.FORCES.get() - fc0;
            System.out.printf("    file forces: %,d, mean %.3f ms; forces > 3 ms: %,d taking %.0f ms in total%n", fc,
                    (BenchAccess.FORCE_NANOS.get() - fn0) / 1e6 / Math.max(1, fc), BenchAccess.SLOW_FORCES.get() - sf0,
                    (BenchAccess.SLOW_NANOS.get() - sn0) / 1e6);
        }
        if (store.lastIndex() - first != msgs || store.durableIndex() != store.lastIndex()) {
            throw new AssertionError("acked " + msgs + " but log grew by " + (store.lastIndex() - first));
        }
        long last = store.lastIndex();
        store.close();
        return last;
    }

    private static void readPhase(BenchAccess.Factory factory, String topic, long expected) {
        LogStore store = factory.open(topic, LogConfig.defaults());
        for (int pass = 0; pass < 2; pass++) { // pass 0 warms up (and validates the closed segments)
            long t0 = System.nanoTime();
            long n = 0;
            long bytes = 0;
            for (long i = store.firstIndex(); i <= store.lastIndex(); ) {
                MessageBatch b = store.read(i, 5000, 1 << 20);
                if (b.isEmpty()) {
                    throw new AssertionError("empty read at " + i);
                }
                i += b.count();
                n += b.count();
                bytes += b.sizeBytes();
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            if (n != expected) {
                throw new AssertionError("read " + n + " of " + expected);
            }
            if (pass == 1) {
                System.out.printf("sequential read (%s, CRC-checked): %,d msgs in %.2f s = %,.0f msgs/s, %.1f MB/s%n",
                        topic, n, secs, n / secs, bytes / secs / 1e6);
            }
        }
        store.close();
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
