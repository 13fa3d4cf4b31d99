package org.forestbus.raft.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NotLeaderException;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.storage.LogStore;
import org.forestbus.raft.core.RaftConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Several {@link RaftTopic}s in one JVM over an in-memory transport: elections, replication,
 * redirects, leader loss and catch-up, through the real driver. Storage is given by
 * {@link #storage}, so the same scenarios run over memory logs here and real disk logs in
 * {@code DiskClusterTest}.
 */
class RaftTopicClusterTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    final LocalTransportHub hub = new LocalTransportHub();
    final TopicRuntime runtime = new TopicRuntime();
    final Map<String, LogStore> logs = new HashMap<>();
    final Map<String, RaftTopic> topics = new HashMap<>();
    final long seed = new SplittableRandom().nextLong();
    List<String> voters;

    /** Storage per node; overridden to use disk. */
    Function<String, LogStore> storage = node -> {
        MemoryLogStore m = new MemoryLogStore();
        m.autoFlush = true;
        return m;
    };

    @AfterEach
    void stop() {
        topics.values().forEach(RaftTopic::close);
        runtime.close();
        hub.close();
    }

    void startCluster(int n) {
        voters = IntStream.rangeClosed(1, n).mapToObj(i -> "n" + i).toList();
        voters.forEach(this::start);
    }

    void start(String node) {
        LogStore log = logs.computeIfAbsent(node, storage);
        RaftNetwork net = new RaftNetwork();
        net.bindTransport(hub.transportOf(node));
        topics.put(node, new RaftTopic("t", node, voters, log, net, runtime, TopicRuntime.RAFT_CONFIG,
                new SplittableRandom(seed ^ node.hashCode()), 0));
    }

    void crash(String node) {
        hub.isolate(node);
        topics.remove(node).close();
        logs.remove(node).close();
        hub.heal();
    }

    String awaitLeader() {
        return await("a leader (seed " + seed + ")").atMost(WAIT).until(() -> topics.values().stream()
                .filter(t -> t.status().role() == Role.LEADER).map(t -> t.status().leader()).findFirst().orElse(null),
                l -> l != null);
    }

    static MessageBatch batch(String prefix, int n) {
        return MessageBatch.of(IntStream.range(0, n).mapToObj(i -> (prefix + i).getBytes(UTF_8)).toList());
    }

    static List<String> readAll(RaftTopic t, long upTo) throws Exception {
        List<String> out = new ArrayList<>();
        long next = 1;
        while (next <= upTo) {
            ReadResult r = t.read(next, 500, 1 << 20, 5_000).get(10, TimeUnit.SECONDS);
            r.messages().payloadArrays().forEach(p -> out.add(new String(p, UTF_8)));
            if (r.messages().count() == 0) {
                break;
            }
            next = r.nextIndex();
        }
        return out;
    }

    @Test
    void threeNodesElectOneLeaderAndReplicateCommittedWrites() throws Exception {
        startCluster(3);
        String leader = awaitLeader();
        long[] ids = topics.get(leader).send(batch("a", 50), true).get(10, TimeUnit.SECONDS);
        assertThat(ids).hasSize(50).startsWith(1).endsWith(50);
        for (RaftTopic t : topics.values()) {
            await("commit on every node (seed " + seed + ")").atMost(WAIT).until(() -> t.status().commitIndex() >= 50);
            assertThat(readAll(t, 50)).hasSize(50).startsWith("a0").endsWith("a49");
        }
        assertThat(topics.values().stream().filter(t -> t.status().role() == Role.LEADER)).hasSize(1);
    }

    @Test
    void writeToAFollowerAnswersNotLeaderWithTheLeader() throws Exception {
        startCluster(3);
        String leader = awaitLeader();
        String follower = voters.stream().filter(v -> !v.equals(leader)).findFirst().orElseThrow();
        await().atMost(WAIT).until(() -> leader.equals(topics.get(follower).status().leader()));
        CompletableFuture<long[]> f = topics.get(follower).send(batch("x", 1), true);
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> f.get(10, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(NotLeaderException.class);
        assertThat(((NotLeaderException) e.getCause()).leader()).isEqualTo(leader);
        assertThat(ForestBusException.from(e).code()).isEqualTo(ErrorCode.NOT_LEADER);
    }

    @Test
    void leaderLossElectsANewLeaderAndTheOldOneCatchesUp() throws Exception {
        startCluster(3);
        String first = awaitLeader();
        topics.get(first).send(batch("before", 20), true).get(10, TimeUnit.SECONDS);
        long t0 = System.nanoTime();
        crash(first);
        String second = await("new leader (seed " + seed + ")").atMost(WAIT).until(
                () -> topics.values().stream().filter(t -> t.status().role() == Role.LEADER)
                        .map(t -> t.status().leader()).findFirst().orElse(null), l -> l != null);
        System.out.println("in-jvm failover_ms=" + (System.nanoTime() - t0) / 1_000_000 + " seed=" + seed);
        assertThat(second).isNotEqualTo(first);
        long[] ids = topics.get(second).send(batch("after", 10), true).get(10, TimeUnit.SECONDS);
        assertThat(ids[0]).isEqualTo(21);
        start(first);
        RaftTopic back = topics.get(first);
        await("restarted node catches up (seed " + seed + ")").atMost(WAIT).until(() -> back.status().commitIndex() >= 30);
        List<String> all = readAll(back, 30);
        assertThat(all).hasSize(30);
        assertThat(all.get(0)).isEqualTo("before0");
        assertThat(all.get(29)).isEqualTo("after9");
    }

    @Test
    void concurrentSendsGetTheirOwnConsecutiveIds() throws Exception {
        startCluster(3);
        String leader = awaitLeader();
        List<CompletableFuture<long[]>> sends = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            sends.add(topics.get(leader).send(batch("c" + i + "-", 5), true));
        }
        List<Long> all = new ArrayList<>();
        for (CompletableFuture<long[]> f : sends) {
            long[] ids = f.get(20, TimeUnit.SECONDS);
            for (int k = 1; k < ids.length; k++) {
                assertThat(ids[k]).isEqualTo(ids[k - 1] + 1);
            }
            for (long id : ids) {
                all.add(id);
            }
        }
        assertThat(all).doesNotHaveDuplicates().hasSize(200);
        List<String> read = readAll(topics.get(leader), 200);
        for (int i = 0; i < 40; i++) {
            long first = sends.get(i).get()[0];
            for (int k = 0; k < 5; k++) {
                assertThat(read.get((int) first - 1 + k)).isEqualTo("c" + i + "-" + k);
            }
        }
    }

    @Test
    void ticksDoNotPileUpBehindAStalledFsync() throws Exception {
        startCluster(3);
        String leader = awaitLeader();
        String follower = voters.stream().filter(v -> !v.equals(leader)).findFirst().orElseThrow();
        MemoryLogStore stalled = (MemoryLogStore) logs.get(follower);
        stalled.autoFlush = false; // the follower's next fsync does not finish until flush()
        topics.get(leader).send(batch("s", 3), true).get(10, TimeUnit.SECONDS); // committed by the other two
        await("the follower persisting an append (seed " + seed + ")").atMost(WAIT)
                .until(() -> stalled.unfinishedSyncs() > 0);
        RaftTopic t = topics.get(follower);
        hub.isolate(follower); // from here on only ticks reach it
        int before = t.deferredInputs().get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 50; i++) {
            runtime.tickAll();
            t.deferredInputs().get(10, TimeUnit.SECONDS); // the tick's task has run when this answers
        }
        // 50 ticks (and the real timer's) came during the stall: one of them waits, not all
        assertThat(t.deferredInputs().get(10, TimeUnit.SECONDS) - before).as("seed " + seed).isLessThanOrEqualTo(1);
        hub.heal();
        stalled.autoFlush = true;
        stalled.flush();
        await("the follower catching up after the stall (seed " + seed + ")").atMost(WAIT)
                .until(() -> t.status().commitIndex() >= 3);
        assertThat(readAll(t, 3)).containsExactly("s0", "s1", "s2");
    }

    @Test
    void leadersTickInOnePhaseAndACampaigningNodeMovesItsPhaseWhileFollowersOfALeaderKeepTheirs() throws Exception {
        startCluster(3);
        String leader = awaitLeader();
        List<String> followers = voters.stream().filter(v -> !v.equals(leader)).toList();
        RaftTopic cut = topics.get(followers.get(0));
        RaftTopic kept = topics.get(followers.get(1));
        await("the leader ticking in the leaders' phase (seed " + seed + ")").atMost(WAIT)
                .until(() -> topics.get(leader).tickPhase() == TopicRuntime.LEADERS_PHASE);
        assertThat(cut.tickPhase()).isNotEqualTo(TopicRuntime.LEADERS_PHASE);
        assertThat(kept.tickPhase()).isNotEqualTo(TopicRuntime.LEADERS_PHASE);
        int cutPhase = cut.tickPhase();
        int keptPhase = kept.tickPhase();
        hub.isolate(followers.get(0)); // hears no leader: times out and campaigns (pre-vote), tick after tick
        await("the isolated follower campaigning in a new tick phase (seed " + seed + ")").atMost(WAIT)
                .until(() -> cut.tickPhase() != cutPhase);
        topics.get(leader).send(batch("k", 1), true).get(10, TimeUnit.SECONDS);
        assertThat(kept.tickPhase()).as("a follower hearing its leader keeps its phase (seed " + seed + ")")
                .isEqualTo(keptPhase);
        hub.heal();
    }

    @Test
    void aTopicThatCannotStartLeavesNoRegistrationOrTicker() {
        TopicRuntime stopped = new TopicRuntime();
        stopped.close(); // its executors reject: the constructor fails after registering
        MemoryLogStore log = new MemoryLogStore();
        log.autoFlush = true;
        RaftNetwork net = new RaftNetwork();
        org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.RejectedExecutionException.class,
                () -> new RaftTopic("t", "n1", List.of("n1"), log, net, stopped, TopicRuntime.RAFT_CONFIG,
                        new SplittableRandom(seed), 0));
        assertThat(net.isRegistered("t")).isFalse();
        assertThat(stopped.tickerCount()).isZero();
    }

    @Test
    void singleNodeGroupLeadsAndKeepsCommittedDataVisibleAfterRestart() throws Exception {
        startCluster(1);
        awaitLeader();
        topics.get("n1").send(batch("s", 3), true).get(10, TimeUnit.SECONDS);
        topics.get("n1").send(batch("u", 2), false).get(10, TimeUnit.SECONDS);
        RaftTopic old = topics.remove("n1");
        old.close();
        MemoryLogStore mem = (MemoryLogStore) logs.get("n1");
        mem.closed = false;
        start("n1");
        // readable at once, before any new write of the new term
        assertThat(topics.get("n1").status().commitIndex()).isEqualTo(5);
        assertThat(readAll(topics.get("n1"), 5)).containsExactly("s0", "s1", "s2", "u0", "u1");
    }

    @Test
    void peerMessagesAreSteppedOnTheTransportThreadButNothingBlocksThere() throws Exception {
        Set<String> blockedTransport = ConcurrentHashMap.newKeySet();
        AtomicInteger appendsOnTransport = new AtomicInteger();
        Set<String> blocking = Set.of("saveHardState", "truncateFrom", "resetTo", "saveMembershipRecord",
                "applyRetention", "close");
        Function<String, LogStore> plain = storage;
        storage = node -> {
            LogStore target = plain.apply(node);
            return (LogStore) Proxy.newProxyInstance(LogStore.class.getClassLoader(), new Class<?>[] {LogStore.class},
                    (proxy, method, args) -> {
                        if (Thread.currentThread().getName().equals("local-transport")) {
                            if (blocking.contains(method.getName())) {
                                blockedTransport.add(node + " " + method.getName());
                            } else if (method.getName().equals("append")) {
                                appendsOnTransport.incrementAndGet();
                            }
                        }
                        try {
                            return method.invoke(target, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        };
        startCluster(3);
        String first = awaitLeader();
        topics.get(first).send(batch("a", 20), true).get(10, TimeUnit.SECONDS);
        crash(first); // the others elect a new leader: terms and votes saved on receipt of a vote
        String second = await("new leader (seed " + seed + ")").atMost(WAIT).until(
                () -> topics.values().stream().filter(t -> t.status().role() == Role.LEADER)
                        .map(t -> t.status().leader()).findFirst().orElse(null), l -> l != null);
        topics.get(second).send(batch("b", 20), true).get(10, TimeUnit.SECONDS);
        start(first); // rejoins with an empty log: learns the term from an append, catches up
        await("rejoined node catches up (seed " + seed + ")").atMost(WAIT)
                .until(() -> topics.get(first).status().commitIndex() >= 40);
        assertThat(appendsOnTransport.get()).as("followers append what they receive on the transport's thread")
                .isPositive();
        assertThat(blockedTransport).as("blocking saves never run on the transport's thread (seed %d)", seed)
                .isEmpty();
    }
}
