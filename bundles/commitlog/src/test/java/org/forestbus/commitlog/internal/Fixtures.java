package org.forestbus.commitlog.internal;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executor;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.SyncPolicy;

/** Shared test helpers: batches, a manual executor, a settable clock, stores on a given file system. */
final class Fixtures {

    static final Path SIM_DIR = Path.of("simdata", "topic");

    private Fixtures() {
    }

    static MessageBatch batch(Random rnd, int n, int maxPayload, long term) {
        List<byte[]> p = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[rnd.nextInt(maxPayload + 1)];
            rnd.nextBytes(b);
            p.add(b);
        }
        return MessageBatch.of(p).stampTerm(term);
    }

    static MessageBatch batch(int n, int payload, long term) {
        List<byte[]> p = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[payload];
            for (int k = 0; k < payload; k++) {
                b[k] = (byte) (i * 31 + k);
            }
            p.add(b);
        }
        return MessageBatch.of(p).stampTerm(term);
    }

    static DiskLogStore open(FileSystemOps fs, Path dir, LogConfig cfg, SyncPolicy policy, Executor ex, Clock clock) {
        return new DiskLogStore(dir.getFileName().toString(), dir, cfg, policy, 1000, fs, clock, ex, null, () -> {
        });
    }

    /** Runs submitted tasks only when the test says so (deterministic group commit). */
    static final class ManualExecutor implements Executor {
        final ArrayDeque<Runnable> queue = new ArrayDeque<>();

        @Override
        public void execute(Runnable r) {
            queue.add(r);
        }

        boolean runOne() {
            Runnable r = queue.poll();
            if (r != null) {
                r.run();
            }
            return r != null;
        }

        void runAll() {
            while (runOne()) {
                // drain
            }
        }
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        volatile long millis;

        MutableClock(long millis) {
            this.millis = millis;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        @Override
        public long millis() {
            return millis;
        }
    }
}
