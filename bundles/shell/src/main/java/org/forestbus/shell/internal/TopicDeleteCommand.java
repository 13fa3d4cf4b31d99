package org.forestbus.shell.internal;

import java.io.PrintStream;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.forestbus.api.admin.TopicAdmin;

@Service
@Command(scope = "forestbus", name = "topic-delete", description = "Deletes a topic's configuration on this node; the topic stops and its data stays on disk")
public class TopicDeleteCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name", required = true)
    @Completion(TopicNameCompleter.class)
    String topic;

    @Reference
    TopicAdmin admin;

    PrintStream out = System.out;

    @Override
    public Object execute() {
        out.println(admin.deleteTopic(topic) ? "Topic " + topic + " deleted (data kept)" : "No topic " + topic + " is configured");
        return null;
    }
}
