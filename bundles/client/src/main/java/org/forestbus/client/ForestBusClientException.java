package org.forestbus.client;

/**
 * Failure of a Forest Bus client operation. {@link #reason()} tells what happened; for server
 * result codes {@link Reason#wireCode()} is the {@code ResultInfo.Code} of FORESTBUS-SPEC §6.2.
 */
public class ForestBusClientException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why an operation failed. */
    public enum Reason {
        /** Code 1: the node's cluster ID differs from the connection string's. Not retried. */
        CLUSTER_ID_MISMATCH(1),
        /** Code 2: the topic does not exist on the node. Not retried. */
        TOPIC_NOT_FOUND(2),
        /** Code 3: the node failed internally. Retried on other nodes. */
        INTERNAL_ERROR(3),
        /** Code 4: no leader could be reached within the retry budget. */
        NOT_LEADER(4),
        /** Code 5: the nodes were shutting down for the whole retry budget. */
        SHUTTING_DOWN(5),
        /** The server answered with an RPC-level error (header {@code Error}); not retried. */
        RPC_ERROR(-1),
        /** No node could be connected to / connections broke for the whole retry budget. */
        CONNECTION(-1),
        /** The call did not complete within its timeout. */
        TIMEOUT(-1),
        /** The client, batcher or follower was closed. */
        CLOSED(-1),
        /** A {@link MessageBatcher} configured not to block had a full buffer. */
        BUFFER_FULL(-1);

        private final int wireCode;

        Reason(int wireCode) {
            this.wireCode = wireCode;
        }

        /**
         * Whether {@link ForestBusClient} retries an operation that fails this way (on the next
         * node, with backoff, within its retry budget): {@link #CONNECTION}, {@link #TIMEOUT},
         * {@link #NOT_LEADER}, {@link #INTERNAL_ERROR} and {@link #SHUTTING_DOWN}. An operation
         * that still fails with one of these ran out of its budget; the cause may yet pass (a node
         * restarting, an election), so trying again later can succeed.
         */
        public boolean retried() {
            return this == CONNECTION || this == TIMEOUT || this == NOT_LEADER || this == INTERNAL_ERROR || this == SHUTTING_DOWN;
        }

        /** The {@code ResultInfo.Code} for server result codes, -1 for client-side reasons. */
        public int wireCode() {
            return wireCode;
        }

        static Reason ofWireCode(int code) {
            for (Reason r : values()) {
                if (r.wireCode == code) {
                    return r;
                }
            }
            return INTERNAL_ERROR;
        }
    }

    private final Reason reason;

    public ForestBusClientException(Reason reason, String message) {
        this(reason, message, null);
    }

    public ForestBusClientException(Reason reason, String message, Throwable cause) {
        super(reason + ": " + message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
