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
import org.forestbus.api.TopicRegistry;

@Service
@Command(scope = "forestbus", name = "topic-transfer-leader",
        description = "Hands a topic's leadership to another voter without waiting for an election timeout. "
                + "Run on the topic's leader.")
public class TopicTransferLeaderCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name", required = true)
    @Completion(TopicNameCompleter.class)
    String topic;

    @Argument(index = 1, name = "node", description = "Voter to lead next", required = true)
    String node;

    @Option(name = "--timeout", description = "Seconds to wait (default 10)")
    long timeoutSeconds = 10;

    @Reference
    TopicRegistry registry;

    PrintStream out = System.out;

    @Override
    public Object execute() throws Exception {
        Answers.await(registry.require(topic).transferLeadership(node), timeoutSeconds, TimeUnit.SECONDS);
        out.println("Leadership of " + topic + " is now with " + node);
        return null;
    }
}
