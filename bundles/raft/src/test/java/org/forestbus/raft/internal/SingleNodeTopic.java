package org.forestbus.raft.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.MalformedBatchException;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.ShuttingDownException;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;
import org.forestbus.api.storage.HardState;
import org.forestbus.api.storage.LogStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The foundation's single-node topic, kept in the tests as the baseline of {@link TopicBench}
 * (production topics run through the Raft core in {@link RaftTopic}).
 *
 * <p>A topic whose Raft group has exactly one voter: this node. It is the leader of a new term on
 * every start (term and self-vote persisted before serving), and an entry is committed as soon
 * as it is durable here, which is the majority of one.
 *
 * <p>Invariants: {@code commitIndex <= log.durableIndex()}; a send is acknowledged only after
 * the fsync covering it; reads never pass {@code commitIndex}; {@code commitIndex} never
 * decreases.
 */
final class SingleNodeTopic implements TopicService {

    private static final Logger LOG = LoggerFactory.getLogger(SingleNodeTopic.class);

    private final String name;
    private final String nodeName;
    private final LogStore log;
    private final Executor workers;
    private final ScheduledExecutorService timer;
    private final Object appendLock = new Object();
    private final long term;
    private final CommittedReads reads;
    private volatile boolean closed;
    private final ScheduledFuture<?> retentionTask;

    SingleNodeTopic(String name, String nodeName, LogStore log, Executor workers, ScheduledExecutorService timer,
                    long retentionCheckMillis) {
        this.name = name;
        this.nodeName = nodeName;
        this.log = log;
        this.workers = workers;
        this.timer = timer;
        HardState hs = log.hardState();
        // Become leader of a new term: persist (term, vote for self) before accepting anything.
        this.term = Math.max(hs.term(), log.lastIndex() >= log.firstIndex() ? log.termAt(log.lastIndex()) : 0) + 1;
        // Everything that survived recovery is on disk once this sync returns; as the only voter
        // this node's log is the committed log.
        long durable = log.sync().join();
        long commitIndex = Math.max(durable, hs.commitIndex());
        log.saveHardState(new HardState(term, nodeName, commitIndex));
        this.reads = new CommittedReads(name, log, commitIndex, workers, timer);
        this.retentionTask = retentionCheckMillis > 0
                ? timer.scheduleWithFixedDelay(this::applyRetention, retentionCheckMillis, retentionCheckMillis,
                        TimeUnit.MILLISECONDS)
                : null;
        LOG.info("Topic {} open: leader of term {}, first index {}, last index {}", name, term, log.firstIndex(),
                log.lastIndex());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public CompletableFuture<long[]> send(MessageBatch batch, boolean waitForCommit) {
        if (batch.isEmpty()) {
            return CompletableFuture.failedFuture(new MalformedBatchException("no messages to send"));
        }
        long last;
        CompletableFuture<Long> durable;
        synchronized (appendLock) {
            if (closed) {
                return CompletableFuture.failedFuture(new ShuttingDownException("topic " + name));
            }
            try {
                last = log.append(batch.stampTerm(term));
                durable = log.sync();
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(ForestBusException.from(e));
            }
        }
        long first = last - batch.count() + 1;
        // Whether or not the client waits for commit, it is answered only once the batch is
        // durable; for a group of one, durable is committed.
        return durable.thenApplyAsync(d -> {
            // FSYNC: d >= last. INTERVAL/NONE complete before the fsync (documented as unsafe).
            reads.advance(Math.max(d, last));
            long[] ids = new long[batch.count()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = first + i;
            }
            return ids;
        }, workers);
    }

    @Override
    public CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis) {
        return reads.read(fromIndex, maxMessages, maxBytes, waitMillis);
    }

    private void applyRetention() {
        try {
            synchronized (appendLock) {
                if (!closed) {
                    long removed = log.applyRetention(reads.commitIndex());
                    if (removed > 0) {
                        LOG.info("Topic {}: retention removed {} messages; first index is now {}", name, removed,
                                log.firstIndex());
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("Topic {}: retention failed", name, e);
        }
    }

    @Override
    public TopicStatus status() {
        return new TopicStatus(name, log.firstIndex(), log.lastIndex(), reads.commitIndex(), term, Role.LEADER, nodeName);
    }

    /** Stops accepting requests, answers waiting readers with SHUTTING_DOWN, closes the log. */
    void close() {
        synchronized (appendLock) {
            closed = true;
        }
        reads.close();
        if (retentionTask != null) {
            retentionTask.cancel(false);
        }
        synchronized (appendLock) {
            log.close();
        }
        LOG.info("Topic {} closed", name);
    }
}
