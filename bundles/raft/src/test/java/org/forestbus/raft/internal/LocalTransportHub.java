package org.forestbus.raft.internal;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.forestbus.api.transport.FrameHandler;
import org.forestbus.api.transport.PeerStatus;
import org.forestbus.api.transport.PeerTransport;

/** In-memory peer transports for in-JVM cluster tests: ordered delivery on one thread, nodes can be cut off. */
final class LocalTransportHub implements AutoCloseable {

    private final Map<String, Map<String, FrameHandler>> handlers = new ConcurrentHashMap<>();
    private final Set<String> isolated = ConcurrentHashMap.newKeySet();
    private final ExecutorService delivery = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "local-transport");
        t.setDaemon(true);
        return t;
    });

    PeerTransport transportOf(String node) {
        handlers.putIfAbsent(node, new ConcurrentHashMap<>());
        return new PeerTransport() {
            @Override
            public boolean send(String toNode, String topic, ByteBuffer payload) {
                ByteBuffer copy = ByteBuffer.allocate(payload.remaining());
                copy.put(payload.duplicate()).flip();
                delivery.execute(() -> {
                    if (isolated.contains(node) || isolated.contains(toNode)) {
                        return;
                    }
                    FrameHandler h = handlers.getOrDefault(toNode, Map.of()).get(topic);
                    if (h != null) {
                        h.onFrame(node, topic, copy);
                    }
                });
                return true;
            }

            @Override
            public AutoCloseable register(String topic, FrameHandler handler) {
                handlers.get(node).put(topic, handler);
                return () -> handlers.get(node).remove(topic, handler);
            }

            @Override
            public List<PeerStatus> peers() {
                return List.of();
            }
        };
    }

    void isolate(String node) {
        isolated.add(node);
    }

    void heal() {
        isolated.clear();
    }

    @Override
    public void close() {
        delivery.shutdownNow();
    }
}
