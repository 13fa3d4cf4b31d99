package org.forestbus.api;

/** Bytes that do not form whole v0 messages, or a message whose checksum does not match. */
public final class MalformedBatchException extends ForestBusException {
    private static final long serialVersionUID = 1L;

    public MalformedBatchException(String message) {
        super(ErrorCode.BAD_REQUEST, message);
    }
}
