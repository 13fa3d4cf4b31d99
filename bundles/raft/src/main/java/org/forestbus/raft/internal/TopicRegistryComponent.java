package org.forestbus.raft.internal;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/** Whiteboard of the running {@link TopicService}s; always registered, topics come and go behind it. */
@Component(service = TopicRegistry.class, immediate = true)
public final class TopicRegistryComponent implements TopicRegistry {

    private final List<TopicService> topics = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addTopic(TopicService topic) {
        topics.add(topic);
    }

    void removeTopic(TopicService topic) {
        topics.remove(topic);
    }

    @Override
    public Optional<TopicService> topic(String name) {
        for (TopicService t : topics) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    @Override
    public List<TopicService> topics() {
        return topics.stream().sorted(Comparator.comparing(TopicService::name)).toList();
    }
}
