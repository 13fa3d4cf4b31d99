package org.forestbus.raft.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.forestbus.raft.core.Message;
import org.forestbus.raft.core.RaftConfig;
import org.forestbus.raft.core.RaftNode;

/**
 * Step-by-step harness for scripted scenarios (etcd's {@code network}): Readies are persisted
 * at once, messages wait in one FIFO until {@link #stabilize()} delivers them, cut links drop
 * them. The {@link SimChecker} invariants run after every delivery.
 */
final class ManualNet {
    final SimChecker checker = new SimChecker();
    final Map<String, SimNode> nodes = new LinkedHashMap<>();
    private final ArrayDeque<Message> queue = new ArrayDeque<>();
    private final Set<String> cut = new HashSet<>();
    long delivered;
    /** Messages matching this are held back by {@link #stabilize()} instead of delivered (see {@link #release()}). */
    Predicate<Message> holdIf;
    private final List<Message> held = new ArrayList<>();

    ManualNet(int voters, int learners, RaftConfig cfg) {
        this(voters, learners, 0, cfg);
    }

    /** {@code spares} extra nodes start outside the configuration. */
    ManualNet(int voters, int learners, int spares, RaftConfig cfg) {
        List<String> v = new ArrayList<>();
        List<String> l = new ArrayList<>();
        for (int i = 1; i <= voters + learners; i++) {
            (i <= voters ? v : l).add("n" + i);
        }
        long seed = 42;
        for (int i = 1; i <= voters + learners + spares; i++) {
            String id = "n" + i;
            nodes.put(id, new SimNode(id, v, l, cfg, seed++, checker));
        }
    }

    /** Scenario config: 10/4/2 ticks; CheckQuorum as asked, PreVote on. */
    static RaftConfig config(boolean checkQuorum) {
        return RaftConfig.DEFAULTS.withElection(10, 4, 2).withPreVote(true, checkQuorum);
    }

    SimNode n(String id) {
        return nodes.get(id);
    }

    RaftNode core(String id) {
        return nodes.get(id).core;
    }

    void cut(String a, String b) {
        cut.add(a + ">" + b);
        cut.add(b + ">" + a);
    }

    void isolate(String id) {
        for (String o : nodes.keySet()) {
            if (!o.equals(id)) {
                cut(id, o);
            }
        }
    }

    void heal() {
        cut.clear();
    }

    /** Persists every pending Ready and queues its messages. */
    void flush() {
        boolean again = true;
        while (again) {
            again = false;
            for (SimNode n : nodes.values()) {
                while (n.alive && n.beginReady()) {
                    queue.addAll(n.completeReady());
                    again = true;
                }
            }
        }
        checker.afterEvent(nodes.values());
    }

    /** Delivers messages (and the ones they cause) until none is left. */
    void stabilize() {
        flush();
        while (!queue.isEmpty()) {
            Message m = queue.poll();
            if (holdIf != null && holdIf.test(m)) {
                held.add(m);
                continue;
            }
            SimNode to = nodes.get(m.to());
            if (to != null && to.alive && !cut.contains(m.from() + ">" + m.to())) {
                to.core.step(m);
                delivered++;
            }
            flush();
        }
    }

    /**
     * Delivers the held-back messages now (a long network delay ending), and what they cause;
     * messages still matching {@link #holdIf} are held back again.
     */
    void release() {
        queue.addAll(held);
        held.clear();
        stabilize();
    }

    /** Drops every queued message. */
    void dropAll() {
        queue.clear();
    }

    void campaign(String id) {
        core(id).campaign();
        stabilize();
    }

    void tick(String id, int times) {
        for (int i = 0; i < times; i++) {
            if (n(id).alive) {
                core(id).tick();
            }
            stabilize();
        }
    }

    void tickAll(int times) {
        for (int i = 0; i < times; i++) {
            for (SimNode n : nodes.values()) {
                if (n.alive) {
                    n.core.tick();
                }
            }
            stabilize();
        }
    }

    private final SimCluster batches = new SimCluster(7, 1, 0, RaftConfig.DEFAULTS);

    /** Proposes {@code count} messages on {@code id}; returns the first index (no delivery). */
    long propose(String id, int count) {
        long first = core(id).propose(batches.newBatch(count));
        flush();
        return first;
    }

    void crash(String id) {
        n(id).crash();
    }

    void restart(String id) {
        n(id).restart();
        flush();
    }

    /** Terms of {@code id}'s log from first to last index. */
    List<Long> terms(String id) {
        SimNode n = n(id);
        List<Long> t = new ArrayList<>();
        for (long i = n.log.firstIndex(); i <= n.log.lastIndex(); i++) {
            t.add(n.log.term(i));
        }
        return t;
    }
}
