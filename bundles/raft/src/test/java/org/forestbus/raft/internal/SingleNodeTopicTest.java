package org.forestbus.raft.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SingleNodeTopicTest {

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final MemoryLogStore log = new MemoryLogStore();

    @AfterEach
    void stop() {
        timer.shutdownNow();
    }

    private SingleNodeTopic open() {
        log.autoFlush = true; // the start-up sync
        SingleNodeTopic t = new SingleNodeTopic("t", "n1", log, Runnable::run, timer, 0);
        log.autoFlush = false;
        return t;
    }

    private static MessageBatch batch(String... payloads) {
        return MessageBatch.of(java.util.Arrays.stream(payloads).map(s -> s.getBytes(UTF_8)).toList());
    }

    private static List<String> texts(ReadResult r) {
        return r.messages().payloadArrays().stream().map(b -> new String(b, UTF_8)).toList();
    }

    @Test
    void sendIsAcknowledgedOnlyAfterTheSyncCoveringIt() throws Exception {
        SingleNodeTopic t = open();
        CompletableFuture<long[]> ids = t.send(batch("a", "b"), true);
        assertThat(ids).isNotDone();
        // not durable → not committed → not readable
        assertThat(t.read(1, 10, 1 << 20, 0).get().messages().count()).isZero();
        log.flush();
        assertThat(ids.get(5, TimeUnit.SECONDS)).containsExactly(1, 2);
        assertThat(texts(t.read(1, 10, 1 << 20, 0).get())).containsExactly("a", "b");
        assertThat(t.send(batch("c"), false).isDone()).isFalse();
        log.flush();
        assertThat(t.status().commitIndex()).isEqualTo(3);
    }

    @Test
    void termAndSelfVoteArePersistedBeforeServingAndGrowOnRestart() {
        SingleNodeTopic t = open();
        assertThat(log.hardState.term()).isEqualTo(1);
        assertThat(log.hardState.votedFor()).isEqualTo("n1");
        assertThat(t.status().role()).isEqualTo(Role.LEADER);
        t.send(batch("x"), true);
        log.flush();
        t.close();
        SingleNodeTopic again = open();
        assertThat(again.status().term()).isEqualTo(2);
        assertThat(log.termAt(1)).isEqualTo(1);
        assertThat(again.status().commitIndex()).isEqualTo(1);
    }

    @Test
    void failedSyncIsNeverAcknowledged() {
        SingleNodeTopic t = open();
        log.failSync = true;
        CompletableFuture<long[]> ids = t.send(batch("a"), true);
        log.flush();
        assertThatThrownBy(ids::get).isInstanceOf(ExecutionException.class)
                .hasRootCauseMessage("fsync failed (test)");
        assertThat(t.status().commitIndex()).isZero();
    }

    @Test
    void longPollWakesOnCommitAndExpiresEmpty() throws Exception {
        SingleNodeTopic t = open();
        CompletableFuture<ReadResult> poll = t.read(1, 10, 1 << 20, 60_000);
        assertThat(poll).isNotDone();
        t.send(batch("hello"), true);
        assertThat(poll).isNotDone(); // appended, not yet durable
        log.flush();
        ReadResult r = poll.get(5, TimeUnit.SECONDS);
        assertThat(texts(r)).containsExactly("hello");
        assertThat(r.nextIndex()).isEqualTo(2);

        ReadResult empty = t.read(2, 10, 1 << 20, 50).get(5, TimeUnit.SECONDS);
        assertThat(empty.messages().count()).isZero();
        assertThat(empty.nextIndex()).isEqualTo(2);
    }

    @Test
    void readsClampToCommitIndexAndMaxMessages() throws Exception {
        SingleNodeTopic t = open();
        t.send(batch("1", "2", "3", "4"), true);
        log.flush();
        t.send(batch("5"), true); // not durable yet
        ReadResult r = t.read(2, 100, 1 << 20, 0).get();
        assertThat(texts(r)).containsExactly("2", "3", "4");
        assertThat(texts(t.read(1, 2, 1 << 20, 0).get())).containsExactly("1", "2");
        ReadResult below = t.read(0, 1, 1 << 20, 0).get();
        assertThat(below.firstIndex()).isEqualTo(1);
    }

    @Test
    void closeAnswersWaitingReadersAndRefusesNewRequests() {
        SingleNodeTopic t = open();
        CompletableFuture<ReadResult> poll = t.read(1, 10, 1 << 20, 60_000);
        t.close();
        assertThat(poll).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
                .satisfies(e -> assertThat(ForestBusException.from(e).code()).isEqualTo(ErrorCode.SHUTTING_DOWN));
        assertThat(t.send(batch("a"), true)).isCompletedExceptionally();
        assertThat(log.closed).isTrue();
    }

    @Test
    void emptyBatchIsRejected() {
        SingleNodeTopic t = open();
        assertThat(t.send(MessageBatch.empty(), true)).isCompletedExceptionally();
    }
}
