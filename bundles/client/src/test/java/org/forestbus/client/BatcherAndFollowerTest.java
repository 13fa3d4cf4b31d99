package org.forestbus.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.forestbus.client.FakeServer.Answer;
import org.forestbus.client.FakeServer.Call;
import org.forestbus.client.ForestBusClientException.Reason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BatcherAndFollowerTest {

    private final FakeTopic topic = new FakeTopic();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private ForestBusClient client;

    private ForestBusClient client() throws Exception {
        FakeServer s = new FakeServer(topic);
        toClose.add(s);
        client = ForestBusClient.connect("#t@" + s.address());
        toClose.add(client);
        return client;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void fullBatchesGoAtOnceAndCloseFlushesTheRest() throws Exception {
        MessageBatcher batcher = MessageBatcher.builder(client()).maxBatch(10).linger(Duration.ofSeconds(60)).build();
        List<CompletableFuture<Long>> ids = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            ids.add(batcher.send(b("m" + i)));
        }
        // the two full batches do not wait for the (one minute) linger
        await().atMost(Duration.ofSeconds(10)).until(() -> ids.get(19).isDone());
        assertThat(topic.batchSizes).containsExactly(10, 10);
        assertThat(ids.get(20)).isNotDone();
        batcher.close();
        assertThat(topic.batchSizes).containsExactly(10, 10, 5);
        for (int i = 0; i < 25; i++) {
            assertThat(ids.get(i).get(1, TimeUnit.SECONDS)).isEqualTo(i + 1L);
        }
        assertThat(topic.log.get(24)).isEqualTo(b("m24"));
        assertThat(batcher.send(b("late"))).isCompletedExceptionally();
    }

    @Test
    void aPartialBatchIsSentAfterTheLinger() throws Exception {
        MessageBatcher batcher = MessageBatcher.builder(client()).maxBatch(1000).linger(Duration.ofMillis(5)).build();
        toClose.add(batcher);
        CompletableFuture<Long> a = batcher.send(b("a"));
        CompletableFuture<Long> c = batcher.send(b("c"));
        assertThat(c.get(10, TimeUnit.SECONDS)).isEqualTo(2);
        assertThat(a.get(10, TimeUnit.SECONDS)).isEqualTo(1);
        assertThat(topic.batchSizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(2);
    }

    @Test
    void aFullBufferFailsFastOrBlocksUntilThereIsRoom() throws Exception {
        topic.holdSends = true;
        ForestBusClient c = client();
        MessageBatcher failFast = MessageBatcher.builder(c).maxBatch(2).bufferSize(4).maxInFlight(1)
                .linger(Duration.ZERO).blockWhenFull(false).build();
        toClose.add(failFast);
        List<CompletableFuture<Long>> accepted = new ArrayList<>();
        CompletableFuture<Long> rejected = null;
        for (int i = 0; i < 50 && rejected == null; i++) {
            CompletableFuture<Long> f = failFast.send(b("x" + i));
            if (f.isCompletedExceptionally()) {
                rejected = f;
            } else {
                accepted.add(f);
            }
        }
        assertThat(rejected).as("a full buffer rejects").isNotNull();
        try {
            rejected.get();
        } catch (ExecutionException e) {
            assertThat(((ForestBusClientException) e.getCause()).reason()).isEqualTo(Reason.BUFFER_FULL);
        }
        // one batch in flight (2) + at most one taken by the flusher (2) + buffer (4)
        assertThat(accepted.size()).isBetween(4, 8);

        MessageBatcher blocking = MessageBatcher.builder(c).maxBatch(2).bufferSize(4).maxInFlight(1).linger(Duration.ZERO).build();
        toClose.add(blocking);
        CompletableFuture<Long> last = new CompletableFuture<>();
        Thread producer = new Thread(() -> {
            CompletableFuture<Long> f = null;
            for (int i = 0; i < 20; i++) {
                f = blocking.send(b("y" + i));
            }
            f.whenComplete((v, e) -> {
                if (e != null) {
                    last.completeExceptionally(e);
                } else {
                    last.complete(v);
                }
            });
        });
        producer.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> producer.getState() == Thread.State.TIMED_WAITING
                && blocking.buffered() >= 4);
        assertThat(last).isNotDone();
        topic.releaseSends();
        assertThat(last.get(10, TimeUnit.SECONDS)).isPositive();
        for (CompletableFuture<Long> f : accepted) {
            assertThat(f.get(10, TimeUnit.SECONDS)).isPositive();
        }
        assertThat(topic.log).hasSize(accepted.size() + 20);
    }

    @Test
    void followerLongPollsAndTracksNextId() throws Exception {
        ForestBusClient c = client();
        topic.append(List.of(b("old1"), b("old2"), b("old3")));
        List<Follower.Message> got = new CopyOnWriteArrayList<>();
        Follower f = new Follower(c, "t", 2, 2);
        toClose.add(f);
        f.start(got::add);
        await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 2);
        assertThat(got.get(0).id()).isEqualTo(2);
        assertThat(got.get(1).payload()).isEqualTo(b("old3"));
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            synchronized (topic) {
                return topic.parkedPolls.size() == 1; // the follower is now waiting in a long poll
            }
        });
        topic.append(List.of(b("new4"), b("new5"), b("new6")));
        await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 5);
        for (int i = 0; i < 5; i++) {
            assertThat(got.get(i).id()).isEqualTo(i + 2L);
            assertThat(got.get(i).payload()).isEqualTo(topic.log.get(i + 1));
        }
        assertThat(f.nextId()).isEqualTo(7);
        f.close();
    }

    @Test
    void pollReturnsMessagesWithIds() throws Exception {
        ForestBusClient c = client();
        topic.append(List.of(b("a"), b("b")));
        try (Follower f = new Follower(c, "t", 1, 10)) {
            List<Follower.Message> m = f.poll();
            assertThat(m).extracting(Follower.Message::id).containsExactly(1L, 2L);
            assertThat(f.nextId()).isEqualTo(3);
        }
    }

    @Test
    void followerKeepsFollowingThroughFailuresThatOutlastTheRetryBudget() throws Exception {
        AtomicBoolean down = new AtomicBoolean(true);
        FakeServer s = new FakeServer(call -> down.get()
                ? CompletableFuture.completedFuture(FakeServer.receiveResult(5, 0, null, false)) // shutting down
                : topic.handle(call));
        toClose.add(s);
        ForestBusClient c = ForestBusClient.builder().connectionString("#t@" + s.address()).retryTimeout(Duration.ofMillis(100))
                .initialBackoff(Duration.ofMillis(10)).maxBackoff(Duration.ofMillis(50)).build();
        toClose.add(c);
        List<Follower.Message> got = new CopyOnWriteArrayList<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        Follower f = new Follower(c, "t", 1, 10);
        toClose.add(f);
        f.start(got::add, errors::add);
        // each error is one receive that exhausted the client's retry budget; the follower goes on
        await().atMost(Duration.ofSeconds(10)).until(() -> errors.size() >= 3);
        assertThat(errors).allSatisfy(e -> assertThat(((ForestBusClientException) e).reason()).isEqualTo(Reason.SHUTTING_DOWN));
        assertThat(f.isRunning()).isTrue();
        down.set(false);
        topic.append(List.of(b("a"), b("b")));
        await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 2);
        assertThat(got).extracting(Follower.Message::id).containsExactly(1L, 2L);
    }

    @Test
    void followerStopsOnAClusterIdMismatch() throws Exception {
        FakeServer s = new FakeServer(call -> CompletableFuture.completedFuture(FakeServer.clusterResult("other")));
        toClose.add(s);
        ForestBusClient c = ForestBusClient.connect("mine#t@" + s.address());
        toClose.add(c);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        Follower f = new Follower(c, "t", 1, 10);
        toClose.add(f);
        f.start(m -> { }, errors::add);
        await().atMost(Duration.ofSeconds(10)).until(() -> !f.isRunning());
        assertThat(errors).singleElement()
                .satisfies(e -> assertThat(((ForestBusClientException) e).reason()).isEqualTo(Reason.CLUSTER_ID_MISMATCH));
    }

    @Test
    void closeAfterItsTimeoutFailsTheBatchesStillUnanswered() throws Exception {
        topic.holdSends = true;
        MessageBatcher batcher = MessageBatcher.builder(client()).linger(Duration.ZERO).closeTimeout(Duration.ofMillis(200)).build();
        CompletableFuture<Long> f = batcher.send(b("a"));
        await().atMost(Duration.ofSeconds(10)).until(() -> topic.batchSizes.size() == 1);
        batcher.close();
        assertThat(f).isCompletedExceptionally();
        try {
            f.get();
        } catch (ExecutionException e) {
            assertThat(((ForestBusClientException) e.getCause()).reason()).isEqualTo(Reason.CLOSED);
        }
    }
}
