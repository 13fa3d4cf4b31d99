package org.forestbus.raft.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NotLeaderException;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStoreFactory;
import org.forestbus.commitlog.internal.DiskLogStoreFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Membership changes of a topic while producers write to it, through the real driver, real disk
 * logs (fsync) and the in-memory transport: a fourth node joins as a learner, is promoted, then
 * the leader removes itself; every acknowledged batch must be at its acknowledged indexes on every
 * final member, and the stored membership must survive a restart.
 */
class MembershipChangeTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static final List<String> FIRST = List.of("n1", "n2", "n3");
    static final List<String> ALL = List.of("n1", "n2", "n3", "n4");

    @TempDir
    Path dir;

    final long seed = new SplittableRandom().nextLong();
    final LocalTransportHub hub = new LocalTransportHub();
    final TopicRuntime runtime = new TopicRuntime();
    final Map<String, LogStoreFactory> storage = new HashMap<>();
    final Map<String, RaftTopic> topics = new ConcurrentHashMap<>();
    /** acknowledged batches: first index → the payload prefix of that batch */
    final Map<Long, String> acked = new ConcurrentHashMap<>();

    @AfterEach
    void stop() {
        topics.values().forEach(RaftTopic::close);
        runtime.close();
        hub.close();
    }

    RaftTopic open(String node, List<String> clusterNodes) {
        LogStoreFactory f = storage.computeIfAbsent(node,
                n -> new DiskLogStoreFactory(TcpClusterTest.storageConfig(dir.resolve(n))));
        RaftNetwork net = new RaftNetwork();
        net.bindTransport(hub.transportOf(node));
        RaftTopic t = new RaftTopic("t", node, clusterNodes, f.open("t", LogConfig.defaults()), net, runtime,
                TopicRuntime.RAFT_CONFIG, new SplittableRandom(seed ^ node.hashCode()), 0);
        topics.put(node, t);
        return t;
    }

    String leader() {
        return await("a leader (seed " + seed + ")").atMost(WAIT).until(() -> topics.entrySet().stream()
                .filter(e -> e.getValue().status().role() == Role.LEADER).map(Map.Entry::getKey).findFirst()
                .orElse(null), l -> l != null);
    }

    /** Retries the change on whichever node leads until it commits (the promotion waits for catch-up). */
    TopicMembers change(TopicMembers.Change change, String node) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                return topics.get(leader()).changeMembers(change, node).get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                ForestBusException fbe = ForestBusException.from(e);
                boolean retry = fbe instanceof NotLeaderException || (fbe.code() == ErrorCode.BAD_REQUEST
                        && (fbe.getMessage().contains("not caught up") || fbe.getMessage().contains("not committed yet")));
                if (!retry || System.nanoTime() > deadline) {
                    throw new AssertionError(change + " " + node + " failed (seed " + seed + ")", e);
                }
                await().pollDelay(Duration.ofMillis(20)).until(() -> true);
            }
        }
    }

    Thread producer(int id, AtomicBoolean stop) {
        Thread t = new Thread(() -> {
            int n = 0;
            while (!stop.get()) {
                String prefix = "p" + id + "-" + n++;
                MessageBatch b = MessageBatch.of(IntStream.range(0, 10).mapToObj(i -> (prefix + "." + i).getBytes(UTF_8)).toList());
                try {
                    String l = leader();
                    long[] ids = topics.get(l).send(b, true).get(30, TimeUnit.SECONDS);
                    acked.put(ids[0], prefix);
                } catch (Exception e) {
                    // not leader / stepped down / shutting down: outcome unknown, not acknowledged
                }
            }
        }, "producer-" + id);
        t.start();
        return t;
    }

    static Map<Long, String> readAll(RaftTopic t, long upTo) throws Exception {
        Map<Long, String> out = new HashMap<>();
        long next = 1;
        while (next <= upTo) {
            ReadResult r = t.read(next, 1000, 1 << 20, 5_000).get(10, TimeUnit.SECONDS);
            List<byte[]> ps = r.messages().payloadArrays();
            for (int i = 0; i < ps.size(); i++) {
                out.put(next + i, new String(ps.get(i), UTF_8));
            }
            if (ps.isEmpty()) {
                break;
            }
            next = r.nextIndex();
        }
        return out;
    }

    @Test
    void aNodeJoinsIsPromotedAndTheLeaderLeavesUnderLoad() throws Exception {
        System.out.println("membership test seed=" + seed);
        FIRST.forEach(n -> open(n, FIRST));
        String first = leader();
        topics.get(first).send(MessageBatch.of(List.of("warm".getBytes(UTF_8))), true).get(10, TimeUnit.SECONDS);

        // The operator adds n4 to the cluster's node list: topics re-open with the new list but keep
        // their stored members; n4 opens with a list that names itself a voter and must not disturb them.
        for (String n : FIRST) {
            topics.remove(n).close();
            open(n, ALL);
        }
        open("n4", ALL);
        assertThat(topics.get(leader()).members().voters()).containsExactly("n1", "n2", "n3");

        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> producers = List.of(producer(1, stop), producer(2, stop));
        await().atMost(WAIT).until(() -> acked.size() >= 20);

        TopicMembers m = change(TopicMembers.Change.ADD_LEARNER, "n4");
        assertThat(m.learners()).containsExactly("n4");
        await().atMost(WAIT).until(() -> acked.size() >= 40);
        m = change(TopicMembers.Change.PROMOTE, "n4");
        assertThat(m.voters()).containsExactly("n1", "n2", "n3", "n4");
        assertThat(m.learners()).isEmpty();
        await().atMost(WAIT).until(() -> acked.size() >= 60);

        String removed = leader();
        m = change(TopicMembers.Change.REMOVE, removed);
        assertThat(m.voters()).hasSize(3).doesNotContain(removed);
        String next = await("a leader other than " + removed + " (seed " + seed + ")").atMost(WAIT).until(this::leader,
                l -> !l.equals(removed));
        int before = acked.size();
        await().atMost(WAIT).until(() -> acked.size() >= before + 20);
        stop.set(true);
        for (Thread t : producers) {
            t.join(60_000);
        }

        // every acknowledged batch is at its acknowledged indexes on every final member
        List<String> members = new ArrayList<>(ALL);
        members.remove(removed);
        long last = acked.keySet().stream().mapToLong(Long::longValue).max().orElseThrow() + 9;
        RaftTopic leaderTopic = topics.get(next);
        await().atMost(WAIT).until(() -> members.stream().allMatch(n -> topics.get(n).status().commitIndex() >= last));
        Map<Long, String> reference = readAll(leaderTopic, last);
        for (String n : members) {
            Map<Long, String> read = readAll(topics.get(n), last);
            assertThat(read).as("log of %s equals the leader's (seed %d)", n, seed).isEqualTo(reference);
            for (Map.Entry<Long, String> a : acked.entrySet()) {
                for (int i = 0; i < 10; i++) {
                    assertThat(read.get(a.getKey() + i)).as("acked %s on %s (seed %d)", a.getValue(), n, seed)
                            .isEqualTo(a.getValue() + "." + i);
                }
            }
            assertThat(topics.get(n).members().voters()).as("members seen by %s", n).containsExactlyElementsOf(members);
        }
        System.out.println("reliability: membership change under load nodes=4 acked_batches=" + acked.size()
                + " removed_leader=" + removed + " new_leader=" + next + " lost=0 seed=" + seed);

        // the stored membership survives a restart (n4 opens with a list naming every node)
        topics.remove("n4").close();
        RaftTopic again = open("n4", ALL);
        assertThat(again.members().voters()).containsExactlyElementsOf(members);
    }

    @Test
    void refusedChangesSayWhy() throws Exception {
        FIRST.forEach(n -> open(n, FIRST));
        String l = leader();
        topics.get(l).send(MessageBatch.of(List.of("x".getBytes(UTF_8))), true).get(10, TimeUnit.SECONDS);
        assertThat(refusal(topics.get(l), TopicMembers.Change.ADD_LEARNER, "n9")).contains("not a node of this cluster");
        assertThat(refusal(topics.get(l), TopicMembers.Change.ADD_LEARNER, "n2")).contains("already a member");
        assertThat(refusal(topics.get(l), TopicMembers.Change.PROMOTE, "n2")).contains("not a learner");
        String follower = FIRST.stream().filter(n -> !n.equals(l)).findFirst().orElseThrow();
        await().atMost(WAIT).until(() -> l.equals(topics.get(follower).status().leader()));
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> topics.get(follower).changeMembers(TopicMembers.Change.REMOVE, l).get(10, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(NotLeaderException.class);
    }

    @Test
    void leadershipTransferAndHandoffOnClose() throws Exception {
        FIRST.forEach(n -> open(n, FIRST));
        String l = leader();
        topics.get(l).send(MessageBatch.of(List.of("x".getBytes(UTF_8))), true).get(10, TimeUnit.SECONDS);
        String to = FIRST.stream().filter(n -> !n.equals(l)).findFirst().orElseThrow();
        topics.get(l).transferLeadership(to).get(10, TimeUnit.SECONDS);
        assertThat(topics.get(to).status().role()).as("seed %d", seed).isEqualTo(Role.LEADER);
        // closing the leader hands leadership over: another node leads right after close returns
        topics.remove(to).close();
        String after = topics.entrySet().stream().filter(e -> e.getValue().status().role() == Role.LEADER)
                .map(Map.Entry::getKey).findFirst().orElse(null);
        assertThat(after).as("a leader right after the old one closed (seed %d)", seed).isNotNull();
    }

    private String refusal(RaftTopic t, TopicMembers.Change c, String node) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> t.changeMembers(c, node).get(10, TimeUnit.SECONDS));
        ForestBusException fbe = ForestBusException.from(e);
        assertThat(fbe.code()).isEqualTo(ErrorCode.BAD_REQUEST);
        return fbe.getMessage();
    }
}
