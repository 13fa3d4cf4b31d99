package org.forestbus.commitlog.internal;

import java.nio.file.Path;
import java.time.Clock;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.SyncPolicy;

/** Test-only access to package-private parts for the benchmark in the bench sub-package. */
public final class BenchAccess {

    private BenchAccess() {
    }

    public static final java.util.concurrent.atomic.AtomicLong FORCE_NANOS = new java.util.concurrent.atomic.AtomicLong();
    public static final java.util.concurrent.atomic.AtomicLong FORCES = new java.util.concurrent.atomic.AtomicLong();
    public static final java.util.concurrent.atomic.AtomicLong SLOW_FORCES = new java.util.concurrent.atomic.AtomicLong();
    public static final java.util.concurrent.atomic.AtomicLong SLOW_NANOS = new java.util.concurrent.atomic.AtomicLong();

    /** A factory on real disk with the default (FSYNC) policy; file forces are timed. */
    public static Factory factory(Path dir) {
        return new Factory(new DiskLogStoreFactory(dir, SyncPolicy.FSYNC, 1000, new TimedFs(), Clock.systemUTC()));
    }

    private static final class TimedFs implements FileSystemOps {
        private final NioFileSystemOps d = NioFileSystemOps.INSTANCE;

        @Override
        public LogFile open(Path file, boolean create) throws java.io.IOException {
            LogFile f = d.open(file, create);
            return new LogFile() {
                @Override
                public void write(java.nio.ByteBuffer src, long position) throws java.io.IOException {
                    f.write(src, position);
                }

                @Override
                public int read(java.nio.ByteBuffer dst, long position) throws java.io.IOException {
                    return f.read(dst, position);
                }

                @Override
                public void force() throws java.io.IOException {
                    long t = System.nanoTime();
                    f.force();
                    long d = System.nanoTime() - t;
                    FORCE_NANOS.addAndGet(d);
                    if (d > 3_000_000) {
                        SLOW_FORCES.incrementAndGet();
                        SLOW_NANOS.addAndGet(d);
                    }
                    FORCES.incrementAndGet();
                }

                @Override
                public void truncate(long size) throws java.io.IOException {
                    f.truncate(size);
                }

                @Override
                public long size() throws java.io.IOException {
                    return f.size();
                }

                @Override
                public void close() throws java.io.IOException {
                    f.close();
                }
            };
        }

        @Override
        public boolean exists(Path path) {
            return d.exists(path);
        }

        @Override
        public java.util.List<String> list(Path dir) throws java.io.IOException {
            return d.list(dir);
        }

        @Override
        public long size(Path file) throws java.io.IOException {
            return d.size(file);
        }

        @Override
        public long lastModifiedMillis(Path file) throws java.io.IOException {
            return d.lastModifiedMillis(file);
        }

        @Override
        public void delete(Path file) throws java.io.IOException {
            d.delete(file);
        }

        @Override
        public void rename(Path from, Path to) throws java.io.IOException {
            d.rename(from, to);
        }

        @Override
        public void syncDirectory(Path dir) throws java.io.IOException {
            d.syncDirectory(dir);
        }

        @Override
        public void createDirectories(Path dir) throws java.io.IOException {
            d.createDirectories(dir);
        }
    }

    public static long fsyncRounds(LogStore s) {
        return ((DiskLogStore) s).fsyncRounds();
    }

    /** Wrapper exposing open/close. */
    public static final class Factory implements AutoCloseable {
        private final DiskLogStoreFactory f;

        Factory(DiskLogStoreFactory f) {
            this.f = f;
        }

        public LogStore open(String topic, LogConfig cfg) {
            return f.open(topic, cfg);
        }

        @Override
        public void close() {
            f.deactivate();
        }
    }
}
