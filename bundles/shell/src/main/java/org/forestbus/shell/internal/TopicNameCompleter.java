package org.forestbus.shell.internal;

import java.util.List;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;

/** Completes the names of the running topics. */
@Service
public class TopicNameCompleter implements Completer {

    @Reference
    TopicRegistry registry;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter names = new StringsCompleter();
        for (TopicService t : registry.topics()) {
            names.getStrings().add(t.name());
        }
        return names.complete(session, commandLine, candidates);
    }
}
