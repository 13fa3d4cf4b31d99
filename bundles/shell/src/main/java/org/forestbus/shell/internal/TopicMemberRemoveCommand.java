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
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicRegistry;

@Service
@Command(scope = "forestbus", name = "topic-member-remove",
        description = "Removes a voter or learner from a topic's Raft group (a leader removing itself steps down "
                + "once the change commits). Run on the topic's leader.")
public class TopicMemberRemoveCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name", required = true)
    @Completion(TopicNameCompleter.class)
    String topic;

    @Argument(index = 1, name = "node", description = "Node name", required = true)
    String node;

    @Option(name = "--timeout", description = "Seconds to wait for the change to commit (default 30)")
    long timeoutSeconds = 30;

    @Reference
    TopicRegistry registry;

    PrintStream out = System.out;

    @Override
    public Object execute() throws Exception {
        TopicMembers m = Answers.await(registry.require(topic).changeMembers(TopicMembers.Change.REMOVE, node),
                timeoutSeconds, TimeUnit.SECONDS);
        out.println("Removed " + node + " from " + topic + "; voters " + m.voters() + ", learners " + m.learners());
        return null;
    }
}
