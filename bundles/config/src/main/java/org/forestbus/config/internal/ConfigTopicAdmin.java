package org.forestbus.config.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.forestbus.api.admin.TopicAdmin;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@link TopicAdmin} over Config Admin factory configurations of PID {@code org.forestbus.topic}. */
@Component(service = TopicAdmin.class)
public final class ConfigTopicAdmin implements TopicAdmin {

    static final String TOPIC_FACTORY_PID = "org.forestbus.topic";
    static final String TOPIC_NAME = "topic.name";
    /** Topic names become directory and file names: keep them portable. */
    static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");

    private final ConfigurationAdmin configAdmin;

    @Activate
    public ConfigTopicAdmin(@Reference ConfigurationAdmin configAdmin) {
        this.configAdmin = configAdmin;
    }

    /** Throws when the name cannot be a topic name (letters, digits, '.', '_', '-'; 1–200 chars; no leading punctuation). */
    public static void checkName(String name) {
        if (name == null || !VALID_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid topic name '" + name
                    + "': use 1-200 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    @Override
    public void createTopic(String name, Map<String, Object> properties) {
        checkName(name);
        try {
            Configuration cfg = configAdmin.getFactoryConfiguration(TOPIC_FACTORY_PID, name, "?");
            Dictionary<String, Object> props = new Hashtable<>();
            properties.forEach(props::put);
            props.put(TOPIC_NAME, name);
            cfg.update(props);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the configuration of topic " + name, e);
        }
    }

    @Override
    public boolean deleteTopic(String name) {
        boolean found = false;
        for (Configuration cfg : topicConfigs("(" + TOPIC_NAME + "=" + escape(name) + ")")) {
            try {
                cfg.delete();
                found = true;
            } catch (IOException e) {
                throw new UncheckedIOException("could not delete the configuration of topic " + name, e);
            }
        }
        return found;
    }

    @Override
    public List<String> configuredTopics() {
        List<String> names = new ArrayList<>();
        for (Configuration cfg : topicConfigs(null)) {
            Object n = cfg.getProperties() == null ? null : cfg.getProperties().get(TOPIC_NAME);
            if (n != null) {
                names.add(n.toString());
            }
        }
        names.sort(null);
        return names;
    }

    private List<Configuration> topicConfigs(String extraFilter) {
        String filter = "(service.factoryPid=" + TOPIC_FACTORY_PID + ")";
        if (extraFilter != null) {
            filter = "(&" + filter + extraFilter + ")";
        }
        try {
            Configuration[] found = configAdmin.listConfigurations(filter);
            return found == null ? List.of() : List.of(found);
        } catch (IOException e) {
            throw new UncheckedIOException("could not list topic configurations", e);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad topic name for a filter: " + extraFilter, e);
        }
    }

    private static String escape(String value) {
        StringBuilder sb = new StringBuilder();
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') {
                sb.append('\\');
            }
            sb.append(c);
        }
        return sb.toString();
    }
}
