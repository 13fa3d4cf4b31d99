package org.forestbus.api;

/** The topic (or node) is stopping; the request had no effect unless said otherwise. */
public final class ShuttingDownException extends ForestBusException {
    private static final long serialVersionUID = 1L;

    public ShuttingDownException(String what) {
        super(ErrorCode.SHUTTING_DOWN, what + " is shutting down");
    }
}
