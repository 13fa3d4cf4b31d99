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
     */
    CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis);

    /** Current local state of the topic. */
    TopicStatus status();
}
