package org.forestbus.shell.internal;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.forestbus.api.ReadResult;
import org.forestbus.api.TopicRegistry;

@Service
@Command(scope = "forestbus", name = "get", description = "Reads committed messages from a topic; prints 'id<TAB>text' lines")
public class GetCommand implements Action {

    @Argument(index = 0, name = "topic", description = "Topic name", required = true)
    @Completion(TopicNameCompleter.class)
    String topic;

    @Option(name = "--from", aliases = "-i", description = "First index to read (default 1)")
    long from = 1;

    @Option(name = "--max", aliases = "-n", description = "At most this many messages (default 100)")
    int max = 100;

    /** Longest {@code --wait}: the same as the HTTP endpoint's default {@code max.wait.ms}. */
    static final long MAX_WAIT_MILLIS = 60_000;

    @Option(name = "--wait", description = "Milliseconds to wait for a message when none is committed at --from (default 0, at most 60000)")
    long waitMillis;

    @Reference
    TopicRegistry registry;

    PrintStream out = System.out;

    @Override
    public Object execute() throws Exception {
        if (waitMillis < 0 || waitMillis > MAX_WAIT_MILLIS) {
            throw new IllegalArgumentException("--wait must be between 0 and " + MAX_WAIT_MILLIS + " ms, was " + waitMillis);
        }
        if (max < 1) {
            throw new IllegalArgumentException("--max must be at least 1, was " + max);
        }
        ReadResult r = Answers.await(registry.require(topic).read(from, max, 4 << 20, waitMillis),
                waitMillis + 30_000, TimeUnit.MILLISECONDS);
        long id = r.firstIndex();
        for (ByteBuffer p : r.messages().payloads()) {
            out.println(id++ + "\t" + StandardCharsets.UTF_8.decode(p));
        }
        out.println("next index: " + r.nextIndex());
        return null;
    }
}
