package org.forestbus.commitlog.internal;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.LogStoreFactory;
import org.forestbus.api.storage.StorageException;
import org.forestbus.api.storage.SyncPolicy;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens {@link DiskLogStore}s under {@code data.dir}. Owns the small executor that runs every
 * topic's fsync rounds and interval timers (two threads, shared by all topics). One open store
 * per topic; a second open of the same topic fails until the first is closed.
 */
@Component(service = LogStoreFactory.class, configurationPid = "org.forestbus.node", property = "type=disk")
// No @Designate: the node PID is declared once, by the config bundle's NodeConfig (one metatype per PID).
public final class DiskLogStoreFactory implements LogStoreFactory {

    private static final Logger LOG = LoggerFactory.getLogger(DiskLogStoreFactory.class);

    private final Path dataDir;
    private final SyncPolicy defaultPolicy;
    private final long defaultIntervalMillis;
    private final FileSystemOps fs;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor executor;
    private final ConcurrentHashMap<String, DiskLogStore> open = new ConcurrentHashMap<>();
    private final Set<String> reserved = ConcurrentHashMap.newKeySet();

    @Activate
    public DiskLogStoreFactory(DiskStorageConfig cfg) {
        this(resolve(cfg.data_dir()), parsePolicy(cfg.sync_policy()), cfg.sync_interval_ms(),
                NioFileSystemOps.INSTANCE, Clock.systemUTC());
    }

    DiskLogStoreFactory(Path dataDir, SyncPolicy defaultPolicy, long defaultIntervalMillis, FileSystemOps fs, Clock clock) {
        if (defaultIntervalMillis <= 0) {
            throw new IllegalArgumentException("sync.interval.ms must be > 0, was " + defaultIntervalMillis);
        }
        this.dataDir = dataDir;
        this.defaultPolicy = defaultPolicy;
        this.defaultIntervalMillis = defaultIntervalMillis;
        this.fs = fs;
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "forestbus-fsync-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = new ScheduledThreadPoolExecutor(2, tf);
        this.executor.setRemoveOnCancelPolicy(true);
        LOG.info("commit log storage in {} (sync.policy={}, sync.interval.ms={})", dataDir, defaultPolicy,
                defaultIntervalMillis);
    }

    static Path resolve(String dir) {
        Path p = Paths.get(dir);
        if (p.isAbsolute()) {
            return p;
        }
        String base = System.getProperty("karaf.base");
        return base != null && !base.isEmpty() ? Paths.get(base).resolve(p) : p.toAbsolutePath();
    }

    static SyncPolicy parsePolicy(String s) {
        try {
            return SyncPolicy.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("sync.policy must be fsync, interval or none, was '" + s + "'", e);
        }
    }

    /** The directory holding the topic directories. */
    Path dataDir() {
        return dataDir;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException when the topic name is not a plain directory name
     * @throws IllegalStateException    when the topic is already open
     * @throws StorageException         when the log cannot be opened (a {@code CorruptLogException}
     *                                  for corruption in synced data)
     */
    @Override
    public LogStore open(String topic, LogConfig config) {
        checkTopicName(topic);
        SyncPolicy policy = config.syncPolicy() != null ? config.syncPolicy() : defaultPolicy;
        long interval = config.syncIntervalMillis() > 0 ? config.syncIntervalMillis() : defaultIntervalMillis;
        if (executor.isShutdown()) {
            throw new StorageException("log storage is shut down");
        }
        if (!reserved.add(topic)) {
            throw new IllegalStateException("topic '" + topic + "' is already open in " + dataDir);
        }
        try {
            DiskLogStore store = new DiskLogStore(topic, dataDir.resolve(topic), config, policy, interval, fs, clock,
                    executor, executor, () -> {
                        open.remove(topic);
                        reserved.remove(topic);
                    });
            open.put(topic, store);
            return store;
        } catch (RuntimeException e) {
            reserved.remove(topic);
            throw e;
        }
    }

    static void checkTopicName(String topic) {
        if (topic == null || topic.isEmpty() || topic.equals(".") || topic.equals("..")
                || topic.indexOf('/') >= 0 || topic.indexOf('\\') >= 0 || topic.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad topic name: '" + topic + "'");
        }
    }

    @Deactivate
    void deactivate() {
        for (DiskLogStore s : List.copyOf(open.values())) {
            LOG.warn("closing topic log {} left open at shutdown", s.topic());
            s.close();
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
