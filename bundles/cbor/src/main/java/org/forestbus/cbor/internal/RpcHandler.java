package org.forestbus.cbor.internal;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.NotLeaderException;
import org.forestbus.api.ReadResult;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;
import org.forestbus.cbor.internal.WireWriter.ResultInfo;

/**
 * The four client methods of the original {@code RPCHandler} (FORESTBUS-SPEC §6.3, §2.6) over
 * the {@link TopicService} API. Never blocks: long polls and commit waits are futures.
 * Thread-safe.
 */
final class RpcHandler {

    /** Limits applied to every call. */
    record Limits(int maxReadMessages, int maxReadBytes, long maxWaitMillis) {
    }

    record SendArgs(String topic, List<byte[]> messages, boolean waitForCommit) {
    }

    record ReceiveArgs(String topic, long id, long quantity, boolean waitForMessages) {
    }

    /** The connection a call answers. */
    interface Caller {
        /**
         * Reserves room in the connection's output budget for the longest prefix of {@code payloads}
         * that fits, and for the first payload even when it alone does not; returns the prefix length.
         * The reservation is the reply's {@link Reply#payloadBytes()}; the connection releases it.
         */
        int reserveOutput(List<ByteBuffer> payloads);

        /**
         * Reserves the byte cap for a read made now and returns it: {@code maxReadBytes}, less when
         * the listener's replies hold most of their budget (down to 1: the log then returns one
         * message). The caller gives it back with {@link #readDone} once the read has returned.
         */
        int reserveRead(int maxReadBytes);

        /** Gives back what {@link #reserveRead} reserved. */
        void readDone(int reserved);

        /**
         * A long poll the topic has parked (the future of {@link TopicService#read}); the connection
         * cancels it when its client leaves, and the call then answers as an expired poll.
         */
        void parked(CompletableFuture<?> poll);
    }

    private final TopicRegistry registry;
    private final NodeInfo node;
    private final Limits limits;

    RpcHandler(TopicRegistry registry, NodeInfo node, Limits limits) {
        this.registry = registry;
        this.node = node;
        this.limits = limits;
    }

    /** {@code RPCHandler.SendMessages}. */
    CompletableFuture<Reply> sendMessages(SendArgs a) {
        Optional<TopicService> topic = registry.topic(a.topic());
        if (topic.isEmpty()) {
            return done(Reply.ok(WireWriter.sendResults(topicNotFound(a.topic()), null)));
        }
        if (a.messages() == null || a.messages().isEmpty()) {
            return done(Reply.error("no messages"));
        }
        MessageBatch batch;
        try {
            batch = MessageBatch.of(a.messages());
        } catch (ForestBusException e) {
            return done(Reply.error(e.getMessage()));
        }
        CompletableFuture<long[]> f;
        try {
            f = topic.get().send(batch, a.waitForCommit());
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return f.handle((ids, err) -> {
            if (err == null) {
                return Reply.ok(WireWriter.sendResults(ResultInfo.SUCCESS, ids));
            }
            ForestBusException e = ForestBusException.from(err);
            ResultInfo r = resultFor(e, a.topic());
            return r == null ? Reply.error(e.getMessage()) : Reply.ok(WireWriter.sendResults(r, null));
        });
    }

    /**
     * {@code RPCHandler.ReceiveMessages}: committed messages only; an empty poll answers
     * {@code ReceivedMessages = null, NextID = ID} ({@code 0} while the commit index is 0, the
     * original's full-restart signal); an ID below the first stored index answers an empty list
     * with {@code NextID = firstIndex}. Unknown topic → code 2 (the original sent an RPC error);
     * shutdown → code 5. Both error replies echo {@code NextID = ID}: the Python client ignores
     * the code, and an ID of 0 would make its caller restart from the beginning of the topic.
     * A caller short of output room gets a prefix of the messages read (at least one), with
     * {@code NextID} after it.
     */
    CompletableFuture<Reply> receiveMessages(ReceiveArgs a, Caller caller) {
        Optional<TopicService> topic = registry.topic(a.topic());
        if (topic.isEmpty()) {
            return done(Reply.ok(WireWriter.receiveResults(topicNotFound(a.topic()), null, a.id())));
        }
        TopicService t = topic.get();
        long id = a.id();
        int quantity = (int) Math.max(1, Math.min(a.quantity(), limits.maxReadMessages()));
        CompletableFuture<ReadResult> f;
        int reserved = 0;
        try {
            TopicStatus st = t.status();
            if ((id <= 0 || id < st.firstIndex()) && st.commitIndex() >= id) {
                return done(Reply.ok(WireWriter.receiveResults(ResultInfo.SUCCESS, List.of(), st.firstIndex())));
            }
            // the bytes a read may bring onto the heap are counted before it runs: six consumers
            // reading 16 MiB at once ran a node out of heap before any reply was counted
            reserved = caller.reserveRead(limits.maxReadBytes());
            f = t.read(id, quantity, reserved, a.waitForMessages() ? limits.maxWaitMillis() : 0);
            if (!f.isDone()) {
                caller.readDone(reserved); // a parked poll holds nothing (its later read brings new messages)
                reserved = 0;
                if (a.waitForMessages()) {
                    caller.parked(f);
                }
            }
        } catch (RuntimeException e) {
            caller.readDone(reserved);
            reserved = 0;
            f = CompletableFuture.failedFuture(e);
        }
        int readReserved = reserved; // given back below: the reply's own reservation replaces it
        return f.handle((r, err) -> {
            caller.readDone(readReserved);
            if (err instanceof CancellationException || err instanceof CompletionException
                    && err.getCause() instanceof CancellationException) {
                return Reply.ok(WireWriter.receiveResults(ResultInfo.SUCCESS, null, id)); // cancelled by the caller
            }
            if (err != null) {
                ForestBusException e = ForestBusException.from(err);
                ResultInfo info = resultFor(e, a.topic());
                return info == null ? Reply.error(e.getMessage())
                        : Reply.ok(WireWriter.receiveResults(info, null, id));
            }
            if (r.firstIndex() > id) { // cleaned up below the requested index meanwhile
                return Reply.ok(WireWriter.receiveResults(ResultInfo.SUCCESS, List.of(), r.firstIndex()));
            }
            if (!r.messages().isEmpty()) {
                List<ByteBuffer> payloads = r.messages().payloads();
                int n = caller.reserveOutput(payloads);
                long bytes = 0;
                for (int i = 0; i < n; i++) {
                    bytes += payloads.get(i).remaining();
                }
                long next = n == payloads.size() ? r.nextIndex() : r.firstIndex() + n;
                return Reply.ok(WireWriter.receiveResults(ResultInfo.SUCCESS, payloads.subList(0, n), next), bytes);
            }
            return Reply.ok(WireWriter.receiveResults(ResultInfo.SUCCESS, null, r.commitIndex() == 0 ? 0 : id));
        });
    }

    /** {@code RPCHandler.GetClusterDetails}: cluster id, configured peers (node names), running topics. */
    CompletableFuture<Reply> clusterDetails() {
        List<String> peers = node.peers().stream().map(NodeInfo.Peer::name).toList();
        List<String> topics = registry.topics().stream().map(TopicService::name).toList();
        return done(Reply.ok(WireWriter.clusterResults(ResultInfo.SUCCESS, node.clusterId(), peers, topics)));
    }

    /** {@code RPCHandler.GetTopicDetails}: local first, last and commit index. */
    CompletableFuture<Reply> topicDetails(String topicName) {
        Optional<TopicService> topic = registry.topic(topicName);
        if (topic.isEmpty()) {
            return done(Reply.ok(WireWriter.topicResults(topicNotFound(topicName), 0, 0, 0)));
        }
        try {
            TopicStatus st = topic.get().status();
            return done(Reply.ok(WireWriter.topicResults(ResultInfo.SUCCESS, st.firstIndex(), st.lastIndex(), st.commitIndex())));
        } catch (RuntimeException err) {
            ForestBusException e = ForestBusException.from(err);
            ResultInfo info = resultFor(e, topicName);
            return done(info == null ? Reply.error(e.getMessage())
                    : Reply.ok(WireWriter.topicResults(info, 0, 0, 0)));
        }
    }

    /** The ResultInfo for an error that has a result code on the wire, or null for an RPC-level error. */
    private ResultInfo resultFor(ForestBusException e, String topic) {
        String me = node.nodeName();
        if (e.code() == ErrorCode.TOPIC_NOT_FOUND) {
            return topicNotFound(topic);
        }
        if (e.code() == ErrorCode.SHUTTING_DOWN) {
            return new ResultInfo(ErrorCode.SHUTTING_DOWN.wireCode(), "Node (" + me + ") is shutting down.", "");
        }
        if (e.code() == ErrorCode.NOT_LEADER) {
            String leader = e instanceof NotLeaderException nle ? nle.leader() : null;
            String addr = leader == null ? "" : node.peer(leader).map(NodeInfo.Peer::cborAddress).orElse("");
            return new ResultInfo(ErrorCode.NOT_LEADER.wireCode(),
                    "Node (" + me + ") is not the leader for this topic.  Last seen leader is (" + addr + ").", addr);
        }
        return null;
    }

    private ResultInfo topicNotFound(String topic) {
        return new ResultInfo(ErrorCode.TOPIC_NOT_FOUND.wireCode(),
                "Provided Topic ID (" + topic + ") was not found on node (" + node.nodeName() + ").", "");
    }

    private static CompletableFuture<Reply> done(Reply r) {
        return CompletableFuture.completedFuture(r);
    }
}
