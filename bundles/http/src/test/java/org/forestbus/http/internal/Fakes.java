package org.forestbus.http.internal;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;

/** Registry and node identity fakes. */
final class Fakes {
    private Fakes() {
    }

    static final class Registry implements TopicRegistry {
        final Map<String, TopicService> topics = new TreeMap<>();

        Registry add(TopicService t) {
            topics.put(t.name(), t);
            return this;
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

    static final class Node implements NodeInfo {
        @Override
        public String clusterId() {
            return "test-cluster";
        }

        @Override
        public String nodeName() {
            return "n1";
        }

        @Override
        public List<Peer> peers() {
            return List.of(new Peer("n1", "127.0.0.1:3001", "127.0.0.1:8001", ""),
                    new Peer("n2", "127.0.0.1:3002", "10.0.0.2:8002", ""),
                    new Peer("n3", "127.0.0.1:3003", "", ""));
        }
    }
}
