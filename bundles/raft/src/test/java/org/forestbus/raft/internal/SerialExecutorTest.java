package org.forestbus.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SerialExecutorTest {

    /** A pool that only queues: the test decides when its tasks run (and on which thread: this one). */
    private final ArrayDeque<Runnable> pool = new ArrayDeque<>();
    private final SerialExecutor actor = new SerialExecutor(pool::add);
    private final List<String> ran = new ArrayList<>();

    private void runPool() {
        for (Runnable r; (r = pool.poll()) != null; ) {
            r.run();
        }
    }

    @Test
    void anIdleExecutorRunsTheTaskOnTheCallingThread() {
        Thread caller = Thread.currentThread();
        Thread[] on = new Thread[1];
        actor.executeOrRun(() -> on[0] = Thread.currentThread());
        assertThat(on[0]).isSameAs(caller);
        assertThat(pool).as("no pool thread woken").isEmpty();
    }

    @Test
    void aBusyExecutorQueuesTheTaskBehindTheOthersInOrder() {
        actor.execute(() -> ran.add("a"));
        actor.executeOrRun(() -> ran.add("b"));
        assertThat(ran).as("a is scheduled on the pool: b must not overtake it").isEmpty();
        runPool();
        assertThat(ran).containsExactly("a", "b");
    }

    @Test
    void tasksSubmittedWhileRunningInlineRunAfterItOnTheSameTurn() {
        actor.executeOrRun(() -> {
            ran.add("a");
            actor.executeOrRun(() -> ran.add("c")); // re-entrant: queued, not nested
            ran.add("b");
        });
        assertThat(ran).containsExactly("a", "b", "c");
        assertThat(pool).isEmpty();
    }

    @Test
    void theCallerRunsAtMostTheInlineBudgetThenHandsTheRestToThePool() {
        int extra = 10;
        actor.executeOrRun(() -> {
            for (int i = 0; i < SerialExecutor.INLINE_BUDGET + extra - 1; i++) {
                int n = i;
                actor.execute(() -> ran.add("t" + n));
            }
        });
        assertThat(ran).hasSize(SerialExecutor.INLINE_BUDGET - 1);
        assertThat(pool).hasSize(1);
        runPool();
        assertThat(ran).hasSize(SerialExecutor.INLINE_BUDGET + extra - 1);
        assertThat(ran.get(ran.size() - 1)).isEqualTo("t" + (SerialExecutor.INLINE_BUDGET + extra - 2));
    }

    @Test
    void aThreadThatMustNotBlockRunsOnlyNonBlockingTasksAndHandsTheFirstOtherOneToThePool() {
        boolean[] mayBlock = new boolean[3];
        actor.executeOrRunNonBlocking(() -> {
            ran.add("step");
            mayBlock[0] = actor.mayBlock();
            actor.execute((SerialExecutor.NonBlocking) () -> ran.add("flush"));
            actor.execute(() -> {
                ran.add("save");
                mayBlock[1] = actor.mayBlock();
            });
            actor.execute((SerialExecutor.NonBlocking) () -> {
                ran.add("after");
                mayBlock[2] = actor.mayBlock();
            });
        });
        assertThat(ran).as("the blocking task and everything behind it wait for the pool").containsExactly("step", "flush");
        assertThat(mayBlock[0]).isFalse();
        assertThat(pool).hasSize(1);
        runPool();
        assertThat(ran).containsExactly("step", "flush", "save", "after");
        assertThat(mayBlock[1]).as("on the pool").isTrue();
        assertThat(mayBlock[2]).as("a non-blocking task run by the pool may block too").isTrue();
    }

    @Test
    void aThreadThatMustNotBlockOnlyQueuesBehindABusyExecutor() {
        actor.execute(() -> ran.add("a"));
        actor.executeOrRunNonBlocking(() -> ran.add("b"));
        assertThat(ran).isEmpty();
        runPool();
        assertThat(ran).containsExactly("a", "b");
        actor.executeOrRunNonBlocking(() -> ran.add("c"));
        assertThat(ran).as("idle again: run inline").containsExactly("a", "b", "c");
        assertThat(pool).isEmpty();
    }
}
