package org.forestbus.raft.internal;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a shared pool: a topic's "thread" without a
 * thread per topic. Tasks of one SerialExecutor never overlap and see each other's writes.
 */
final class SerialExecutor implements Executor {

    private static final Logger LOG = LoggerFactory.getLogger(SerialExecutor.class);

    private final Executor pool;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean scheduled;

    SerialExecutor(Executor pool) {
        this.pool = pool;
    }

    @Override
    public void execute(Runnable task) {
        if (queueAndClaim(task)) {
            pool.execute(this::drain);
        }
    }

    /** Queues {@code task}; true when nobody runs or is scheduled to run the queue (the caller must now see to it). */
    private boolean queueAndClaim(Runnable task) {
        synchronized (tasks) {
            tasks.add(task);
            if (scheduled) {
                return false;
            }
            scheduled = true;
            return true;
        }
    }

    /**
     * Like {@link #execute}, but when no task is queued or running, the calling thread runs the
     * queue itself (at most {@link #INLINE_BUDGET} tasks, then the rest moves to the pool) instead
     * of waking a pool thread: one thread hop less on the paths that carry a client's write. Only
     * for callers that may spend a little time on the topic's work and hold no locks: a client
     * connection's thread, an fsync completion. Never a shared I/O loop or the timer.
     */
    void executeOrRun(Runnable task) {
        if (queueAndClaim(task)) {
            drain(INLINE_BUDGET, false);
        }
    }

    static final int INLINE_BUDGET = 32;

    /**
     * A task that never blocks: it may run on a thread that must not wait for a disk or a lock
     * held across I/O (the peer transport's I/O loop). Code inside one that could need to block
     * asks {@link #mayBlock()} first and hands that work to the pool with {@link #execute}.
     */
    interface NonBlocking extends Runnable {
    }

    private Thread nonBlockingRunner; // the thread in executeOrRunNonBlocking, while it runs tasks

    /**
     * For a thread that must never block (a shared I/O loop): when no task is queued or running,
     * runs {@code task} here and then further queued tasks while they are {@link NonBlocking}
     * (at most {@link #INLINE_BUDGET}); the first other task, and everything after it, goes to the
     * pool. Otherwise queues {@code task} like {@link #execute}. Saves the pool thread's wake-up on
     * the paths that carry replication (an append, an acknowledgement, a commit notice).
     */
    void executeOrRunNonBlocking(NonBlocking task) {
        if (!queueAndClaim(task)) {
            return;
        }
        nonBlockingRunner = Thread.currentThread();
        try {
            drain(INLINE_BUDGET, true);
        } finally {
            nonBlockingRunner = null;
        }
    }

    /**
     * False inside a task run by {@link #executeOrRunNonBlocking}: the caller must not block
     * (no fsync, no waiting) and should hand such work to the pool with {@link #execute}.
     * Only meaningful when called from a task of this executor.
     */
    boolean mayBlock() {
        return nonBlockingRunner != Thread.currentThread();
    }

    private void drain() {
        drain(256, false);
    }

    /** Runs up to {@code budget} tasks (stopping before the first that is not {@link NonBlocking} if so asked), then leaves the rest to the pool. */
    private void drain(int budget, boolean nonBlockingOnly) {
        // bounded batch per turn so one busy topic cannot starve the others on the pool
        for (int i = 0; i < budget; i++) {
            Runnable next;
            synchronized (tasks) {
                next = tasks.peek();
                if (next == null) {
                    scheduled = false;
                    return;
                }
                if (nonBlockingOnly && !(next instanceof NonBlocking)) {
                    break;
                }
                tasks.poll();
            }
            run(next);
        }
        pool.execute(this::drain);
    }

    private static void run(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException | Error e) {
            LOG.error("Topic task failed", e);
        }
    }
}
