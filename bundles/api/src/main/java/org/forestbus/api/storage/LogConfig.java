package org.forestbus.api.storage;

/**
 * Per-topic storage settings.
 *
 * @param segmentBytes   roll to a new segment before an append once the current one holds at
 *                       least this many bytes (a batch is never split)
 * @param retentionMillis delete closed segments whose newest message is older than this; 0 = keep forever
 * @param retentionBytes  delete the oldest closed segments while the topic holds more bytes than
 *                       this; 0 = no size limit
 * @param syncPolicy     see {@link SyncPolicy}; {@code null} = the node's default (the factory's configuration)
 * @param syncIntervalMillis fsync period for {@link SyncPolicy#INTERVAL}; 0 = the node's default
 */
public record LogConfig(long segmentBytes, long retentionMillis, long retentionBytes,
                        SyncPolicy syncPolicy, long syncIntervalMillis) {

    public static final long DEFAULT_SEGMENT_BYTES = 128L << 20;

    public LogConfig {
        if (segmentBytes < 1024) {
            throw new IllegalArgumentException("segment.bytes must be >= 1024, was " + segmentBytes);
        }
        if (retentionMillis < 0 || retentionBytes < 0 || syncIntervalMillis < 0) {
            throw new IllegalArgumentException("retention and sync interval must be >= 0");
        }
    }

    /** Defaults: 128 MiB segments, no retention, the node's sync policy. */
    public static LogConfig defaults() {
        return new LogConfig(DEFAULT_SEGMENT_BYTES, 0, 0, null, 0);
    }

    /** This config with another segment size (for tests and tools). */
    public LogConfig withSegmentBytes(long bytes) {
        return new LogConfig(bytes, retentionMillis, retentionBytes, syncPolicy, syncIntervalMillis);
    }
}
