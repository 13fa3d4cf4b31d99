package org.forestbus.api;

/**
 * Result codes shared by every client endpoint. The numeric values are the original Forest Bus
 * {@code ResultInfo.Code} values (CBOR-RPC wire compatible) and must never change.
 */
public enum ErrorCode {
    SUCCESS(0),
    MISMATCHED_CLUSTER_ID(1),
    TOPIC_NOT_FOUND(2),
    INTERNAL_ERROR(3),
    NOT_LEADER(4),
    SHUTTING_DOWN(5),
    /** Not in the original protocol: a request that breaks a documented limit or is malformed. */
    BAD_REQUEST(100),
    /** Not in the original protocol: a request larger than a documented limit. */
    TOO_LARGE(101),
    /**
     * Not in the original protocol: the node cannot take the request now because a documented
     * node-wide budget is used up (e.g. memory for request bodies); nothing was stored, retry later.
     */
    BUSY(102);

    private final int wireCode;

    ErrorCode(int wireCode) {
        this.wireCode = wireCode;
    }

    /** The integer sent on the wire. */
    public int wireCode() {
        return wireCode;
    }
}
