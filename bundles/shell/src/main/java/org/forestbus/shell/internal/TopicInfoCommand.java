package org.forestbus.shell.internal;

import java.io.PrintStream;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicStatus;

@Service
@Command(scope = "forestbus", name = "topic-info", description = "Shows one topic's state on this node")
public class TopicInfoCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name", required = true)
    @Completion(TopicNameCompleter.class)
    String topic;

    @Reference
    TopicRegistry registry;

    @Reference
    NodeInfo node;

    PrintStream out = System.out;

    @Override
    public Object execute() {
        TopicStatus s = registry.require(topic).status();
        out.println("Topic        : " + s.name());
        out.println("Node         : " + node.nodeName() + " (cluster " + node.clusterId() + ")");
        out.println("Role         : " + s.role().label());
        out.println("Leader       : " + (s.leader() == null ? "-" : s.leader()));
        out.println("Term         : " + s.term());
        out.println("First index  : " + s.firstIndex());
        out.println("Last index   : " + s.lastIndex());
        out.println("Commit index : " + s.commitIndex());
        try {
            TopicMembers m = registry.require(topic).members();
            out.println("Voters       : " + String.join(", ", m.voters()));
            out.println("Learners     : " + (m.learners().isEmpty() ? "-" : String.join(", ", m.learners())));
            if (!m.matchIndexes().isEmpty()) {
                StringBuilder sb = new StringBuilder();
                m.matchIndexes().forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append('=').append(v));
                out.println("Replicated   : " + sb);
            }
        } catch (UnsupportedOperationException e) {
            // a topic service without replicated membership
        }
        return null;
    }
}
