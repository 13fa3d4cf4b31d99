package org.forestbus.api;

/**
 * Base of every error a {@link TopicService} reports. Each carries an {@link ErrorCode} that
 * endpoints map to their protocol (HTTP status, CBOR-RPC result code).
 */
public class ForestBusException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public ForestBusException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public ForestBusException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    /** Unwraps {@code CompletionException}/{@code ExecutionException} layers to the Forest Bus error, or wraps as INTERNAL_ERROR. */
    public static ForestBusException from(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof ForestBusException fbe) {
            return fbe;
        }
        return new ForestBusException(ErrorCode.INTERNAL_ERROR, String.valueOf(c.getMessage()), c);
    }
}
