package org.forestbus.shell.internal;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.forestbus.api.admin.TopicAdmin;

@Service
@Command(scope = "forestbus", name = "topic-create", description = "Creates (or updates) a topic's configuration on this node; the topic starts once Config Admin applies it")
public class TopicCreateCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name: letters, digits, '.', '_' or '-'", required = true)
    String topic;

    @Option(name = "--property", aliases = "-p", description = "A topic property as key=value (e.g. segment.bytes=67108864)", multiValued = true)
    List<String> properties;

    @Reference
    TopicAdmin admin;

    PrintStream out = System.out;

    @Override
    public Object execute() {
        Map<String, Object> props = new LinkedHashMap<>();
        if (properties != null) {
            for (String p : properties) {
                String[] kv = p.split("=", 2);
                if (kv.length != 2 || kv[0].isBlank()) {
                    throw new IllegalArgumentException("property must be key=value: " + p);
                }
                props.put(kv[0].trim(), kv[1].trim());
            }
        }
        admin.createTopic(topic, props);
        out.println("Topic " + topic + " configured");
        return null;
    }
}
