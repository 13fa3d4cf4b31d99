package org.forestbus.raft.core;

import org.forestbus.api.MessageBatch;

/**
 * The read-only view of one node's <em>persisted</em> log that {@link RaftNode} reads
 * (etcd-raft's {@code Storage}). The driver adapts {@code org.forestbus.api.storage.LogStore}
 * to it; tests back it with an in-memory list.
 *
 * <p>Contract: indexes are contiguous in {@code [firstIndex(), lastIndex()]};
 * {@code lastIndex() == firstIndex() - 1} for an empty log. The view must reflect every
 * {@link Ready} the driver persisted before calling {@link RaftNode#advance(Ready)}, and must
 * not change otherwise except through retention, which may only remove a prefix of entries that
 * are all {@code <=} the node's commit index (see {@link RaftNode#commitIndex()}) and never the
 * last entry. Called only from the thread that drives the node.
 */
public interface RaftLog {

    /** First stored index; 1 for a new log. */
    long firstIndex();

    /** Last stored index; {@code firstIndex() - 1} when empty. */
    long lastIndex();

    /**
     * Term of the message at {@code index}; 0 for index 0.
     *
     * @throws IndexOutOfBoundsException when {@code index} is not stored (the node never asks
     *                                   for indexes outside {@code [firstIndex, lastIndex]} or 0)
     */
    long term(long index);

    /**
     * Whole messages from {@code lo}: at least one when {@code lo} is stored, at most
     * {@code maxCount}, and no more than {@code maxBytes} bytes unless the first message alone
     * is larger. Fewer is allowed (for example at a segment boundary).
     */
    MessageBatch entries(long lo, int maxCount, int maxBytes);
}
