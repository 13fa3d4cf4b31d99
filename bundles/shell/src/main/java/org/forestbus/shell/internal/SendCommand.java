package org.forestbus.shell.internal;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.TopicRegistry;

@Service
@Command(scope = "forestbus", name = "send", description = "Sends messages (one per argument, UTF-8) to a topic as one batch and prints their ids")
public class SendCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name", required = true)
    @Completion(TopicNameCompleter.class)
    String topic;

    @Argument(index = 1, name = "messages", description = "Message texts", required = true, multiValued = true)
    List<String> messages;

    @Option(name = "--no-commit-wait", description = "Answer once durable on this node instead of committed")
    boolean noCommitWait;

    @Option(name = "--timeout", description = "Seconds to wait for the answer (default 30)")
    long timeoutSeconds = 30;

    @Reference
    TopicRegistry registry;

    PrintStream out = System.out;

    @Override
    public Object execute() throws Exception {
        MessageBatch batch = MessageBatch.of(messages.stream().map(m -> m.getBytes(StandardCharsets.UTF_8)).toList());
        long[] ids = Answers.await(registry.require(topic).send(batch, !noCommitWait), timeoutSeconds, TimeUnit.SECONDS);
        StringBuilder sb = new StringBuilder();
        for (long id : ids) {
            sb.append(sb.length() == 0 ? "" : " ").append(id);
        }
        out.println(sb);
        return null;
    }
}
