package org.forestbus.raft.internal;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
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
     * jitter; a campaigning node's next timeout also moves by a random phase, see
     * {@link #TICK_PHASES}), heartbeats every 200 ms: the original's timing (500–699 ms).
     */
    public static final org.forestbus.raft.core.RaftConfig RAFT_CONFIG =
            org.forestbus.raft.core.RaftConfig.DEFAULTS.withElection(5, 2, 2);

    /**
     * Each topic ticks in one of this many phases of the tick period (a phase every 10 ms).
     * Election timeouts are whole ticks, so two followers whose ticks fell together (one timer
     * shared by the nodes of a test, or two nodes' timers that happen to align) would time out at
     * the same instant, both campaign and split the vote, and again at the next timeout with the
     * same odds. So a follower ticks in a random phase and draws a new one on every tick it
     * spends campaigning ({@link #rephaseTicker}): rivals' timeouts differ by a random part of a
     * tick. Leaders all tick in {@link #LEADERS_PHASE}: their heartbeats to a peer go out in one
     * burst and share frames (spreading them over the phases as well cost 1,000 idle topics
     * about 60 % more CPU). The timer wakes every phase instead of every tick.
     */
    static final int TICK_PHASES = 10;

    /** The phase every leading topic ticks in ({@link #moveTickerToLeadersPhase}). */
    static final int LEADERS_PHASE = 0;

    static final long HANDOFF_BUDGET_MILLIS = 3000;
    static final long HANDOFF_WINDOW_MILLIS = 30_000;

    private final ScheduledThreadPoolExecutor timer;
    private long handoffWindowStart = System.nanoTime();
    private long handoffSpentMillis;
    private final ExecutorService workers;
    private final List<CopyOnWriteArrayList<Runnable>> phases =
            Stream.generate(CopyOnWriteArrayList<Runnable>::new).limit(TICK_PHASES).toList();
    private final Map<Runnable, Integer> phaseOf = new HashMap<>(); // guarded by itself
    private int nextPhase; // timer thread only

    public TopicRuntime() {
        this(true);
    }

    /** @param tickOnTimer false for tests that tick by hand ({@link #tickNextPhase}, {@link #tickAll}) */
    TopicRuntime(boolean tickOnTimer) {
        timer = newTimer(named("forestbus-topic-timer"));
        workers = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                named("forestbus-topic-worker"));
        // one shared timer task for all topics, not a timer task per topic
        long phaseMillis = TICK_MILLIS / TICK_PHASES;
        if (tickOnTimer) {
            timer.scheduleAtFixedRate(this::tickNextPhase, phaseMillis, phaseMillis, TimeUnit.MILLISECONDS);
        }
    }

    /** Runs the tickers of the next phase (the timer's task, every {@code TICK_MILLIS / TICK_PHASES}). */
    void tickNextPhase() {
        phases.get(nextPhase).forEach(Runnable::run);
        nextPhase = (nextPhase + 1) % TICK_PHASES;
    }

    /** Runs every ticker once, whatever its phase (tests call it to tick without waiting). */
    void tickAll() {
        phases.forEach(p -> p.forEach(Runnable::run));
    }

    /**
     * Calls {@code ticker} every {@link #TICK_MILLIS} on the timer thread, in a random phase of
     * the period other than {@link #LEADERS_PHASE} (it must only enqueue work).
     */
    public void addTicker(Runnable ticker) {
        synchronized (phaseOf) {
            if (!phaseOf.containsKey(ticker)) {
                moveTo(ticker, randomFollowerPhase());
            }
        }
    }

    public void removeTicker(Runnable ticker) {
        synchronized (phaseOf) {
            Integer p = phaseOf.remove(ticker);
            if (p != null) {
                phases.get(p).remove(ticker);
            }
        }
    }

    /**
     * Moves a registered ticker to a new random phase other than {@link #LEADERS_PHASE}; its next
     * tick comes between one phase and one period plus eight phases from now. Does nothing for a
     * ticker that was removed.
     */
    public void rephaseTicker(Runnable ticker) {
        synchronized (phaseOf) {
            if (phaseOf.containsKey(ticker)) {
                moveTo(ticker, randomFollowerPhase());
            }
        }
    }

    /**
     * Moves a registered ticker to {@link #LEADERS_PHASE} (nothing for a removed one). Leaders'
     * ticks send the heartbeats: in one phase, a node's heartbeats to a peer go out together and
     * share frames and wake-ups, however many topics it leads.
     */
    public void moveTickerToLeadersPhase(Runnable ticker) {
        synchronized (phaseOf) {
            Integer p = phaseOf.get(ticker);
            if (p != null && p != LEADERS_PHASE) {
                moveTo(ticker, LEADERS_PHASE);
            }
        }
    }

    private static int randomFollowerPhase() {
        return ThreadLocalRandom.current().nextInt(1, TICK_PHASES); // any but the leaders' phase
    }

    /** Puts {@code ticker} in phase {@code to}, out of the one it was in (caller holds phaseOf). */
    private void moveTo(Runnable ticker, int to) {
        Integer from = phaseOf.put(ticker, to);
        if (from != null) {
            phases.get(from).remove(ticker);
        }
        phases.get(to).add(ticker);
    }

    /** The phase a ticker ticks in, or -1 when it is not registered. */
    int phaseOf(Runnable ticker) {
        synchronized (phaseOf) {
            return phaseOf.getOrDefault(ticker, -1);
        }
    }

    /** How many tickers are registered (tests). */
    int tickerCount() {
        synchronized (phaseOf) {
            return phaseOf.size();
        }
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
