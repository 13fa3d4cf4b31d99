package org.forestbus.cbor.internal;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;

final class FakeRegistry implements TopicRegistry {
    private final Map<String, TopicService> topics = new ConcurrentSkipListMap<>();

    FakeTopic add(FakeTopic t) {
        topics.put(t.name(), t);
        return t;
    }

    @Override
    public Optional<TopicService> topic(String name) {
        return Optional.ofNullable(topics.get(name));
    }

    @Override
    public List<TopicService> topics() {
        return List.copyOf(topics.values());
    }
}
