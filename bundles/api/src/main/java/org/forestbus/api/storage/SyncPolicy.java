package org.forestbus.api.storage;

/** When a {@link LogStore} forces appended bytes to stable storage. */
public enum SyncPolicy {
    /**
     * Default. Group commit: appends are acknowledged only after an fsync that covers them;
     * appends that arrive while an fsync runs share the next one.
     */
    FSYNC,
    /**
     * Fsync on a timer ({@code sync.interval.ms}). Appends are acknowledged before they are
     * durable: a power loss can lose up to one interval of acknowledged writes. Unsafe for Raft.
     */
    INTERVAL,
    /** Never fsync (the original's OSSYNC); the OS decides. UNSAFE: acknowledged data can vanish on power loss. */
    NONE
}
