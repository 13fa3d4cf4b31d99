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
        synchronized (tasks) {
            tasks.add(task);
            if (scheduled) {
                return;
            }
            scheduled = true;
        }
        pool.execute(this::drain);
    }

    /**
     * Like {@link #execute}, but when no task is queued or running, the calling thread runs the
     * queue itself (at most {@link #INLINE_BUDGET} tasks, then the rest moves to the pool) instead
     * of waking a pool thread: one thread hop less on the paths that carry a client's write. Only
     * for callers that may spend a little time on the topic's work and hold no locks: a client
     * connection's thread, an fsync completion. Never a shared I/O loop or the timer.
     */
    void executeOrRun(Runnable task) {
        synchronized (tasks) {
            tasks.add(task);
            if (scheduled) {
                return;
            }
            scheduled = true;
        }
        drain(INLINE_BUDGET);
    }

    static final int INLINE_BUDGET = 32;

    private void drain() {
        drain(256);
    }

    private void drain(int budget) {
        // bounded batch per turn so one busy topic cannot starve the others on the pool
        for (int i = 0; i < budget; i++) {
            Runnable next;
            synchronized (tasks) {
                next = tasks.poll();
                if (next == null) {
                    scheduled = false;
                    return;
                }
            }
            try {
                next.run();
            } catch (RuntimeException | Error e) {
                LOG.error("Topic task failed", e);
            }
        }
        pool.execute(this::drain);
    }
}
