package org.forestbus.raft.internal;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Threads shared by every topic of the node: one timer thread (long-poll timeouts, retention)
 * and a small worker pool that completes client futures and serves woken long-polls, so that
 * neither fsync threads nor the timer run client continuations. No thread per topic.
 */
@Component(service = TopicRuntime.class)
public final class TopicRuntime {

    /** Raft tick period shared by every topic. Idle cost scales with ticks, so it is coarse. */
    public static final long TICK_MILLIS = 100;

    /**
     * Raft timing for {@link #TICK_MILLIS}: election timeout 500 or 600 ms (5 ticks + 0..1 of
     * jitter), heartbeats every 200 ms: the original's timing.
     */
    public static final org.forestbus.raft.core.RaftConfig RAFT_CONFIG =
            org.forestbus.raft.core.RaftConfig.DEFAULTS.withElection(5, 2, 2);

    static final long HANDOFF_BUDGET_MILLIS = 3000;
    static final long HANDOFF_WINDOW_MILLIS = 30_000;

    private final ScheduledThreadPoolExecutor timer;
    private long handoffWindowStart = System.nanoTime();
    private long handoffSpentMillis;
    private final ExecutorService workers;
    private final CopyOnWriteArrayList<Runnable> tickers = new CopyOnWriteArrayList<>();

    public TopicRuntime() {
        timer = newTimer(named("forestbus-topic-timer"));
        workers = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                named("forestbus-topic-worker"));
        // one shared ticker for all topics, not a timer task per topic
        timer.scheduleAtFixedRate(this::tickAll, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Runs every ticker once (the timer's task; tests call it to tick without waiting). */
    void tickAll() {
        tickers.forEach(Runnable::run);
    }

    /** Calls {@code ticker} every {@link #TICK_MILLIS} on the timer thread (it must only enqueue work). */
    public void addTicker(Runnable ticker) {
        tickers.add(ticker);
    }

    public void removeTicker(Runnable ticker) {
        tickers.remove(ticker);
    }

    /** How many tickers are registered (tests). */
    int tickerCount() {
        return tickers.size();
    }

    /**
     * Node-wide budget for closing leaders waiting on a leadership handoff: at most
     * {@link #HANDOFF_BUDGET_MILLIS} of waiting in any {@link #HANDOFF_WINDOW_MILLIS}, so stopping
     * a node with 1,000 topics (or a whole cluster at once, where the targets are stopping too)
     * cannot take minutes. Returns how long this handoff may wait (0 = skip it).
     */
    public synchronized long handoffAllowance(long wantMillis) {
        long now = System.nanoTime();
        if (now - handoffWindowStart > TimeUnit.MILLISECONDS.toNanos(HANDOFF_WINDOW_MILLIS)) {
            handoffWindowStart = now;
            handoffSpentMillis = 0;
        }
        long allowed = Math.max(0, Math.min(wantMillis, HANDOFF_BUDGET_MILLIS - handoffSpentMillis));
        return allowed;
    }

    /** Records time spent waiting on a handoff (see {@link #handoffAllowance}). */
    public synchronized void handoffSpent(long millis) {
        handoffSpentMillis += millis;
    }

    public ScheduledExecutorService timer() {
        return timer;
    }

    public ExecutorService workers() {
        return workers;
    }

    @Deactivate
    public void close() {
        timer.shutdownNow();
        workers.shutdown();
        try {
            if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
                workers.shutdownNow();
            }
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A one-thread timer that drops a task from its queue when the task is cancelled. Every
     * long poll answered before its wait ends cancels its timeout; without removal each would
     * stay queued (and wake the timer thread) until its wait ran out: a consumer tailing a busy
     * topic with waits of minutes kept hundreds of thousands of dead timeouts on the heap.
     */
    static ScheduledThreadPoolExecutor newTimer(ThreadFactory threads) {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, threads);
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
