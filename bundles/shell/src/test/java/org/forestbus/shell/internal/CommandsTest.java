package org.forestbus.shell.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;
import org.junit.jupiter.api.Test;

class CommandsTest {

    /** In-memory topic: every send is committed at once. */
    static final class FakeTopic implements TopicService {
        final List<byte[]> messages = new ArrayList<>();

        public String name() { return "orders"; }

        public synchronized CompletableFuture<long[]> send(MessageBatch batch, boolean waitForCommit) {
            long[] ids = new long[batch.count()];
            messages.addAll(batch.payloadArrays());
            for (int i = 0; i < ids.length; i++) {
                ids[i] = messages.size() - ids.length + 1 + i;
            }
            return CompletableFuture.completedFuture(ids);
        }

        CompletableFuture<ReadResult> parked; // the last long poll left waiting

        public synchronized CompletableFuture<ReadResult> read(long from, int max, int maxBytes, long wait) {
            if (wait > 0 && from > messages.size()) {
                parked = new CompletableFuture<>();
                notifyAll();
                return parked;
            }
            int start = (int) from - 1;
            int end = Math.min(messages.size(), start + max);
            MessageBatch b = start >= end ? MessageBatch.empty() : MessageBatch.of(messages.subList(start, end));
            return CompletableFuture.completedFuture(new ReadResult(b, from, from + b.count(), messages.size()));
        }

        public synchronized TopicStatus status() {
            return new TopicStatus("orders", 1, messages.size(), messages.size(), 3, Role.LEADER, "node1");
        }

        // membership: node4 "catches up" after two refused promotions
        List<String> voters = new ArrayList<>(List.of("node1", "node2", "node3"));
        List<String> learners = new ArrayList<>();
        int refusals = 2;

        public synchronized TopicMembers members() {
            return new TopicMembers(voters, learners, 0, java.util.Map.of("node4", 7L - Math.max(0, refusals)));
        }

        public synchronized CompletableFuture<TopicMembers> changeMembers(TopicMembers.Change c, String node) {
            switch (c) {
                case ADD_LEARNER -> learners.add(node);
                case PROMOTE -> {
                    if (refusals-- > 0) {
                        return CompletableFuture.failedFuture(new ForestBusException(ErrorCode.BAD_REQUEST,
                                "membership change refused: learner " + node + " has not caught up"));
                    }
                    learners.remove(node);
                    voters.add(node);
                }
                case REMOVE -> {
                    voters.remove(node);
                    learners.remove(node);
                }
            }
            return CompletableFuture.completedFuture(members());
        }
    }

    final FakeTopic topic = new FakeTopic();
    final TopicRegistry registry = new TopicRegistry() {
        public Optional<TopicService> topic(String name) { return name.equals("orders") ? Optional.of(topic) : Optional.empty(); }
        public List<TopicService> topics() { return List.of(topic); }
    };
    final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(buffer, true, UTF_8);

    private String output() {
        return buffer.toString(UTF_8);
    }

    private GetCommand getOrders() {
        GetCommand get = new GetCommand();
        get.registry = registry;
        get.out = out;
        get.topic = "orders";
        return get;
    }

    @Test
    void sendPrintsIdsAndGetPrintsMessages() throws Exception {
        SendCommand send = new SendCommand();
        send.registry = registry;
        send.out = out;
        send.topic = "orders";
        send.messages = List.of("first", "second");
        send.execute();
        assertThat(output()).isEqualTo("1 2" + System.lineSeparator());

        buffer.reset();
        GetCommand get = getOrders();
        get.from = 2;
        get.execute();
        assertThat(output()).isEqualTo("2\tsecond" + System.lineSeparator() + "next index: 3" + System.lineSeparator());
    }

    @Test
    void getRefusesAWaitOutsideItsLimitAndAnEmptyMax() {
        GetCommand get = getOrders();
        get.waitMillis = GetCommand.MAX_WAIT_MILLIS + 1;
        assertThatThrownBy(get::execute).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--wait must be between 0 and 60000 ms, was 60001");
        get.waitMillis = -1;
        assertThatThrownBy(get::execute).hasMessage("--wait must be between 0 and 60000 ms, was -1");
        get.waitMillis = 0;
        get.max = 0;
        assertThatThrownBy(get::execute).hasMessage("--max must be at least 1, was 0");
        assertThat(output()).isEmpty();
    }

    @Test
    void anInterruptedGetCancelsItsLongPoll() throws Exception {
        GetCommand get = getOrders();
        get.waitMillis = GetCommand.MAX_WAIT_MILLIS;
        java.util.concurrent.atomic.AtomicReference<Throwable> ended = new java.util.concurrent.atomic.AtomicReference<>();
        Thread shell = new Thread(() -> {
            try {
                get.execute();
            } catch (Throwable t) {
                ended.set(t);
            }
        });
        shell.start();
        synchronized (topic) {
            while (topic.parked == null) {
                topic.wait(10_000);
            }
        }
        shell.interrupt(); // Ctrl-C
        shell.join(10_000);
        assertThat(shell.isAlive()).isFalse();
        assertThat(ended.get()).isInstanceOf(InterruptedException.class);
        assertThat(topic.parked).isCancelled();
    }

    @Test
    void topicsPrintsATableRowPerTopic() {
        topic.messages.add("x".getBytes(UTF_8));
        TopicsCommand cmd = new TopicsCommand();
        cmd.registry = registry;
        cmd.out = out;
        cmd.noFormat = true;
        cmd.execute();
        // --no-format: no header, tab-separated cells
        String[] lines = output().split("\\R");
        assertThat(lines).hasSize(1);
        assertThat(java.util.Arrays.stream(lines[0].split("\\t")).map(String::trim))
                .containsExactly("orders", "leader", "node1", "3", "1", "1", "1");
        buffer.reset();
        cmd.noFormat = false;
        cmd.execute();
        assertThat(output()).contains("Topic").contains("Leader").contains("Commit").contains("orders");
    }

    @Test
    void memberAddWithVoterWaitsForCatchUpThenPromotes() throws Exception {
        TopicMemberAddCommand add = new TopicMemberAddCommand();
        add.registry = registry;
        add.out = out;
        add.topic = "orders";
        add.node = "node4";
        add.voter = true;
        add.pollMillis = 1;
        add.execute();
        String nl = System.lineSeparator();
        assertThat(output()).isEqualTo("Added node4 to orders as a learner; voters [node1, node2, node3], learners [node4]" + nl
                + "Waiting for node4 to catch up: 6 / 0" + nl
                + "Waiting for node4 to catch up: 7 / 0" + nl
                + "Promoted node4 to voter of orders; voters [node1, node2, node3, node4], learners []" + nl);

        buffer.reset();
        TopicMemberRemoveCommand rm = new TopicMemberRemoveCommand();
        rm.registry = registry;
        rm.out = out;
        rm.topic = "orders";
        rm.node = "node1";
        rm.execute();
        assertThat(output()).isEqualTo("Removed node1 from orders; voters [node2, node3, node4], learners []" + nl);

        buffer.reset();
        TopicInfoCommand info = new TopicInfoCommand();
        info.registry = registry;
        info.out = out;
        info.topic = "orders";
        info.node = new org.forestbus.api.NodeInfo() {
            public String clusterId() { return "c"; }
            public String nodeName() { return "node2"; }
            public List<Peer> peers() { return List.of(); }
        };
        info.execute();
        assertThat(output()).contains("Voters       : node2, node3, node4" + nl).contains("Learners     : -" + nl)
                .contains("Replicated   : node4=7" + nl);
    }

    @Test
    void unknownTopicIsAClearError() {
        TopicInfoCommand cmd = new TopicInfoCommand();
        cmd.registry = registry;
        cmd.topic = "nope";
        assertThatThrownBy(cmd::execute).isInstanceOf(ForestBusException.class)
                .hasMessage("topic not found: nope")
                .satisfies(e -> assertThat(((ForestBusException) e).code()).isEqualTo(ErrorCode.TOPIC_NOT_FOUND));
    }
}
