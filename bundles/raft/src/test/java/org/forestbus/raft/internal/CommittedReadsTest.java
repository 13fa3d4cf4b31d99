package org.forestbus.raft.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.ReadResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CommittedReadsTest {

    private final ScheduledThreadPoolExecutor timer = TopicRuntime.newTimer(Thread::new);

    @AfterEach
    void stop() {
        timer.shutdownNow();
    }

    @Test
    void longPollsAnsweredByACommitLeaveNoTimeoutQueued() throws Exception {
        MemoryLogStore log = new MemoryLogStore();
        CommittedReads reads = new CommittedReads("t", log, 0, Runnable::run, timer);
        // a consumer tailing a busy topic: every poll parks with a long wait and is answered by
        // the next commit well before its wait runs out
        for (long i = 1; i <= 1000; i++) {
            CompletableFuture<ReadResult> poll = reads.read(i, 10, 1 << 20, TimeUnit.MINUTES.toMillis(5));
            assertThat(poll).isNotDone();
            log.append(MessageBatch.of(List.of(("m" + i).getBytes(UTF_8))));
            reads.advance(i);
            assertThat(poll.get(10, TimeUnit.SECONDS).messages().count()).isEqualTo(1);
        }
        // the answered polls' timeouts were cancelled: none may stay queued until it expires
        await().atMost(Duration.ofSeconds(10)).until(() -> timer.getQueue().isEmpty());
    }

    @Test
    void aCancelledLongPollLeavesAtOnce() throws Exception {
        MemoryLogStore log = new MemoryLogStore();
        CommittedReads reads = new CommittedReads("t", log, 0, Runnable::run, timer);
        CompletableFuture<ReadResult> kept = reads.read(1, 10, 1 << 20, TimeUnit.MINUTES.toMillis(5));
        List<CompletableFuture<ReadResult>> gone = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            gone.add(reads.read(1, 10, 1 << 20, TimeUnit.MINUTES.toMillis(5)));
        }
        assertThat(reads.parkedReads()).isEqualTo(101);
        gone.forEach(p -> p.cancel(false)); // their clients went away
        assertThat(reads.parkedReads()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> timer.getQueue().size() == 1);
        log.append(MessageBatch.of(List.of("m".getBytes(UTF_8))));
        reads.advance(1);
        assertThat(kept.get(10, TimeUnit.SECONDS).messages().count()).isEqualTo(1); // the one still waiting is answered
        assertThat(reads.parkedReads()).isZero();
    }

    @Test
    void aLongPollStillExpiresEmptyWhenNothingIsCommitted() throws Exception {
        CommittedReads reads = new CommittedReads("t", new MemoryLogStore(), 0, Runnable::run, timer);
        List<CompletableFuture<ReadResult>> polls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            polls.add(reads.read(1, 10, 1 << 20, 50));
        }
        for (CompletableFuture<ReadResult> p : polls) {
            ReadResult r = p.get(10, TimeUnit.SECONDS);
            assertThat(r.messages().count()).isZero();
            assertThat(r.nextIndex()).isEqualTo(1);
        }
        assertThat(timer.getQueue()).isEmpty();
    }
}
