package org.forestbus.shell.internal;

import java.io.PrintStream;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;

@Service
@Command(scope = "forestbus", name = "topics", description = "Lists the topics running on this node with their role, leader and indexes")
public class TopicsCommand implements Action {

    @Option(name = "--no-format", description = "Plain output without table borders")
    boolean noFormat;

    @Reference
    TopicRegistry registry;

    PrintStream out = System.out;

    @Override
    public Object execute() {
        ShellTable table = new ShellTable();
        table.column("Topic");
        table.column("Role");
        table.column("Leader");
        table.column("Term").alignRight();
        table.column("First").alignRight();
        table.column("Last").alignRight();
        table.column("Commit").alignRight();
        for (TopicService t : registry.topics()) {
            TopicStatus s = t.status();
            table.addRow().addContent(s.name(), s.role().label(), s.leader() == null ? "-" : s.leader(), s.term(),
                    s.firstIndex(), s.lastIndex(), s.commitIndex());
        }
        table.print(out, !noFormat);
        return null;
    }
}
