package org.forestbus.api.storage;

/**
 * Data that was durable does not read back as written (bad checksum or structure before the
 * recovery point). Names the file and byte offset. Never repaired by silent truncation.
 */
public final class CorruptLogException extends StorageException {
    private static final long serialVersionUID = 1L;
    private final String file;
    private final long offset;

    public CorruptLogException(String file, long offset, String what) {
        super("corrupt log data in " + file + " at byte " + offset + ": " + what);
        this.file = file;
        this.offset = offset;
    }

    public String file() {
        return file;
    }

    public long offset() {
        return offset;
    }
}
