package org.forestbus.api.storage;

import java.util.concurrent.CompletableFuture;
import org.forestbus.api.MessageBatch;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One topic's durable commit log: v0 messages with consecutive indexes.
 *
 * <p>Threading: one writer at a time ({@link #append}, {@link #truncateFrom}, {@link #resetTo},
 * {@link #saveHardState}, {@link #applyRetention} must be serialised by the caller); reads and
 * the index getters may run concurrently with the writer and with each other.
 *
 * <p>Indexes: {@code firstIndex()} is 1 for a new log; {@code lastIndex()} is
 * {@code firstIndex() - 1} when the log is empty.
 */
@ProviderType
public interface LogStore extends AutoCloseable {

    String topic();

    long firstIndex();

    long lastIndex();

    /** Highest index known to be on stable storage (per the sync policy's promise). */
    long durableIndex();

    /**
     * Term stored in the message at {@code index}; 0 for index 0.
     *
     * @throws IndexOutOfBoundsException when the index is not stored
     */
    long termAt(long index);

    /**
     * Writes the batch after the last message (bytes as given: terms already stamped). Returns
     * the index of its last message. The bytes may not be durable yet: see {@link #sync()}.
     *
     * @throws StorageException when the write failed; the log then refuses further writes
     */
    long append(MessageBatch batch);

    /**
     * Completes, with the durable index, once everything appended before the call is durable
     * (under {@link SyncPolicy#FSYNC}: fsynced; concurrent callers share one fsync). Fails
     * with {@link StorageException} when the fsync failed; the log then refuses further writes.
     */
    CompletableFuture<Long> sync();

    /**
     * Reads whole messages from {@code fromIndex}: at most {@code maxMessages}, and no more
     * than {@code maxBytes} bytes unless the first message alone is larger (one message is then
     * returned). Empty when {@code fromIndex} is outside [firstIndex, lastIndex]. Checksums are
     * verified.
     *
     * @throws CorruptLogException when stored bytes fail their checksum
     */
    MessageBatch read(long fromIndex, int maxMessages, int maxBytes);

    /** Removes {@code index} and every later message (Raft conflict). No-op past the end. Durable on return. */
    void truncateFrom(long index);

    /** Discards every message and restarts the log empty with {@code firstIndex} as its first index. Durable on return. */
    void resetTo(long firstIndex);

    /** The last saved hard state ({@link HardState#INITIAL} for a new log). */
    HardState hardState();

    /** Replaces the hard state atomically and durably (temp file, fsync, rename, fsync dir) before returning. */
    void saveHardState(HardState state);

    /**
     * The membership record last saved with {@link #saveMembershipRecord}, or {@code null} when
     * none was. The bytes belong to the Raft layer; the store only keeps them safe (checksummed).
     */
    byte[] membershipRecord();

    /** Replaces the membership record atomically and durably (temp file, fsync, rename, fsync dir) before returning. */
    void saveMembershipRecord(byte[] record);

    /**
     * Deletes whole closed segments that break the retention settings and whose messages all
     * lie at or below {@code maxDeletableIndex} (callers pass the commit index). The active
     * segment is never deleted.
     *
     * @return the number of messages removed
     */
    long applyRetention(long maxDeletableIndex);

    /** Number of segment files and total bytes, for status output. */
    LogStats stats();

    /** Closes files after a final sync. Pending {@link #sync()} futures complete first. */
    @Override
    void close();

    record LogStats(int segments, long bytes) {
    }
}
