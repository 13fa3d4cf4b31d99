package org.forestbus.commitlog.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The file-system seam of the commit log: every byte the store reads or writes goes through
 * here, so tests can inject torn writes, failed fsyncs, ENOSPC and power loss.
 * Implementations must be thread-safe.
 */
public interface FileSystemOps {

    /** Opens a file for reading and writing; creates it (empty) when {@code create} is set. */
    LogFile open(Path file, boolean create) throws IOException;

    boolean exists(Path path);

    /** Names of the regular files in {@code dir}. */
    List<String> list(Path dir) throws IOException;

    /** Length of a file in bytes. */
    long size(Path file) throws IOException;

    /** Last modification time in epoch milliseconds. */
    long lastModifiedMillis(Path file) throws IOException;

    void delete(Path file) throws IOException;

    /** Atomically replaces {@code to} with {@code from} (not durable until {@link #syncDirectory}). */
    void rename(Path from, Path to) throws IOException;

    /** Makes the directory's entries (creations, deletions, renames) durable. */
    void syncDirectory(Path dir) throws IOException;

    void createDirectories(Path dir) throws IOException;
}
