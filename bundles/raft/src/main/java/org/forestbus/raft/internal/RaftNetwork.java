package org.forestbus.raft.internal;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.forestbus.api.transport.PeerTransport;
import org.forestbus.raft.core.Message;
import org.forestbus.raft.core.MessageType;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connects the topics of this node to whatever {@link PeerTransport} is present. The transport
 * reference is dynamic: updating or restarting the transport bundle swaps it here and the topics
 * keep running (Raft retries what was lost meanwhile). Without a transport, messages to peers
 * are dropped, which a single-node cluster never sends.
 */
@Component(service = RaftNetwork.class, immediate = true)
public final class RaftNetwork {

    private static final Logger LOG = LoggerFactory.getLogger(RaftNetwork.class);

    private final Map<String, Consumer<Message>> topics = new ConcurrentHashMap<>();
    private final Map<String, AutoCloseable> registrations = new ConcurrentHashMap<>();
    private volatile PeerTransport transport;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindTransport(PeerTransport t) {
        closeRegistrations();
        transport = t;
        topics.forEach(this::registerWith);
        LOG.info("Peer transport bound; {} topics registered", topics.size());
    }

    synchronized void unbindTransport(PeerTransport t) {
        if (transport == t) {
            closeRegistrations();
            transport = null;
            LOG.info("Peer transport unbound; peer messages are dropped until one is bound");
        }
    }

    /** Routes frames for {@code topic} to {@code receiver} (called on a transport thread; must not block). */
    synchronized void register(String topic, Consumer<Message> receiver) {
        topics.put(topic, receiver);
        if (transport != null) {
            registerWith(topic, receiver);
        }
    }

    /** Whether a receiver is registered for the topic (tests). */
    boolean isRegistered(String topic) {
        return topics.containsKey(topic);
    }

    synchronized void unregister(String topic) {
        topics.remove(topic);
        AutoCloseable r = registrations.remove(topic);
        if (r != null) {
            close(r);
        }
    }

    /**
     * Best effort: false when there is no transport or the peer's queue is full. Heartbeats and
     * their answers are queued to coalesce (1,000 idle topics heartbeat constantly); everything
     * else is on somebody's critical path (a client's write waits on appends, acks and commit
     * notices; an election on votes) and may be written at once ({@link PeerTransport#sendUrgent}).
     */
    boolean send(String topic, Message m) {
        PeerTransport t = transport;
        if (t == null) {
            return false;
        }
        ByteBuffer frame = RaftMessageCodec.encode(m);
        return m.type() == MessageType.HEARTBEAT || m.type() == MessageType.HEARTBEAT_RESP
                ? t.send(m.to(), topic, frame)
                : t.sendUrgent(m.to(), topic, frame);
    }

    private void registerWith(String topic, Consumer<Message> receiver) {
        registrations.put(topic, transport.register(topic, (from, tp, payload) -> {
            Message m;
            try {
                m = RaftMessageCodec.decode(payload);
            } catch (RuntimeException e) {
                LOG.warn("Topic {}: dropped a malformed raft message from {}: {}", tp, from, e.getMessage());
                return;
            }
            if (!m.from().equals(from)) {
                LOG.warn("Topic {}: dropped a raft message claiming to be from {} on {}'s connection", tp, m.from(), from);
                return;
            }
            receiver.accept(m);
        }));
    }

    private void closeRegistrations() {
        registrations.values().forEach(RaftNetwork::close);
        registrations.clear();
    }

    private static void close(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.debug("closing a transport registration failed", e);
        }
    }
}
