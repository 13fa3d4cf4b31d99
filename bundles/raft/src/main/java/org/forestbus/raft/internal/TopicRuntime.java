package org.forestbus.raft.internal;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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

    private final ScheduledExecutorService timer;
    private final ExecutorService workers;

    public TopicRuntime() {
        timer = Executors.newSingleThreadScheduledExecutor(named("forestbus-topic-timer"));
        workers = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                named("forestbus-topic-worker"));
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

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
