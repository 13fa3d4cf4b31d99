package org.forestbus.api;

import java.util.concurrent.CompletableFuture;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One topic on this node: a commit log whose messages get consecutive indexes from 1.
 * Registered as an OSGi service with the property {@code topic.name}.
 *
 * <p>Thread-safe. No method blocks: waiting is expressed through the returned futures, which
 * complete on an internal thread (callers must not block inside their continuations).
 */
@ProviderType
public interface TopicService {

    /** Service property holding the topic name. */
    String TOPIC_NAME = "topic.name";

    /** The topic name. */
    String name();

    /**
     * Appends a batch. The leader assigns consecutive indexes to the batch's messages, in order.
     * The future completes with those indexes once the batch is durable on this node and, when
     * {@code waitForCommit} is true, committed (durable on a majority of the topic's voters).
     * Never acknowledges a batch that is not durable on this node.
     *
     * @param batch one or more messages in the v0 format; the service owns it after the call
     *              (it stamps the leader's term into the headers in place)
     * @return the assigned indexes, or fails with {@link NotLeaderException},
     *         {@link ShuttingDownException}, or {@link ForestBusException} with
     *         {@link ErrorCode#INTERNAL_ERROR} when storage failed (the batch may or may not be
     *         stored; it is not acknowledged)
     */
    CompletableFuture<long[]> send(MessageBatch batch, boolean waitForCommit);

    /**
     * Reads committed messages starting at {@code fromIndex}. Never returns an index above the
     * commit index. When {@code fromIndex} is beyond the commit index, waits up to
     * {@code waitMillis} (0 = answer at once) for it to be committed, then answers with what
     * is there (possibly nothing). A {@code fromIndex} below the first stored index answers
     * from the first stored index.
     *
     * @param maxMessages at most this many messages (&ge; 1)
     * @param maxBytes    soft cap on the payload bytes; at least one message is returned when
     *                    one is available even if it alone exceeds the cap
     * @return the messages; cancelling it gives up a wait (its client went away): the topic
     *         then forgets the read at once instead of when {@code waitMillis} runs out
     */
    CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis);

    /** Current local state of the topic. */
    TopicStatus status();

    /**
     * The topic's current members as this node sees them.
     *
     * @throws UnsupportedOperationException when this implementation has no replicated membership
     */
    default TopicMembers members() {
        throw new UnsupportedOperationException("membership is not supported by " + getClass().getName());
    }

    /**
     * Proposes a single-node membership change (leader only). The change takes effect when its
     * carrier entry, an empty message, is appended (so it uses one message index; readers see an
     * empty payload there) and is complete when that entry is committed; the future completes
     * then, with the new members. {@code node} must be a node of the cluster (a peer in the node
     * configuration).
     *
     * @return fails with {@link NotLeaderException} on a non-leader, or {@link ForestBusException}
     *         with {@link ErrorCode#BAD_REQUEST} when the change is not allowed now (another change
     *         is uncommitted, the node is unknown, not a member, already a member, a learner that
     *         has not caught up, or the last voter)
     */
    default CompletableFuture<TopicMembers> changeMembers(TopicMembers.Change change, String node) {
        return CompletableFuture.failedFuture(
                new UnsupportedOperationException("membership is not supported by " + getClass().getName()));
    }

    /**
     * Hands leadership to the voter {@code node} (leader only): writes are refused briefly while
     * it catches up, then it takes over at once instead of after an election timeout. Completes
     * when this node has stepped down with {@code node} as leader; fails when the transfer is
     * abandoned (after one election timeout).
     */
    default CompletableFuture<Void> transferLeadership(String node) {
        return CompletableFuture.failedFuture(
                new UnsupportedOperationException("leadership transfer is not supported by " + getClass().getName()));
    }
}
