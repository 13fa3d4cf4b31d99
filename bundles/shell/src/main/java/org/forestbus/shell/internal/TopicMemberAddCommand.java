package org.forestbus.shell.internal;

import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;

@Service
@Command(scope = "forestbus", name = "topic-member-add",
        description = "Adds a cluster node to a topic's Raft group as a learner; with --voter, waits until it has "
                + "caught up and promotes it to voter. Run on the topic's leader.")
public class TopicMemberAddCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name", required = true)
    @Completion(TopicNameCompleter.class)
    String topic;

    @Argument(index = 1, name = "node", description = "Node name (one of the peers of org.forestbus.node)", required = true)
    String node;

    @Option(name = "--voter", description = "Promote the node to voter once it has caught up")
    boolean voter;

    @Option(name = "--timeout", description = "Seconds to wait for catch-up and commit (default 300)")
    long timeoutSeconds = 300;

    @Reference
    TopicRegistry registry;

    PrintStream out = System.out;

    /** Time between catch-up checks; tests shorten it. */
    long pollMillis = 1000;

    @Override
    public Object execute() throws Exception {
        TopicService t = registry.require(topic);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        TopicMembers m = t.members();
        if (!m.learners().contains(node) || !voter) {
            m = await(t.changeMembers(TopicMembers.Change.ADD_LEARNER, node), deadline);
            out.println("Added " + node + " to " + topic + " as a learner; voters " + m.voters() + ", learners " + m.learners());
        }
        if (!voter) {
            return null;
        }
        while (true) {
            try {
                m = await(t.changeMembers(TopicMembers.Change.PROMOTE, node), deadline);
                out.println("Promoted " + node + " to voter of " + topic + "; voters " + m.voters() + ", learners " + m.learners());
                return null;
            } catch (ForestBusException e) {
                boolean catchingUp = e.code() == ErrorCode.BAD_REQUEST
                        && (e.getMessage().contains("not caught up") || e.getMessage().contains("not committed yet"));
                if (!catchingUp || System.nanoTime() > deadline) {
                    throw e;
                }
                TopicMembers now = t.members();
                long commit = t.status().commitIndex();
                out.println("Waiting for " + node + " to catch up: " + now.matchIndexes().getOrDefault(node, 0L) + " / "
                        + commit);
                TimeUnit.MILLISECONDS.sleep(pollMillis);
            }
        }
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f, long deadline) throws Exception {
        return Answers.await(f, Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
