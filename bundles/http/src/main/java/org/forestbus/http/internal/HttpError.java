package org.forestbus.http.internal;

import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;

/**
 * An error answer: HTTP status, Forest Bus error code, text, and (for 421) the leader's HTTP
 * address. Thrown inside the handler; {@link Exchange#fail} turns any throwable into one via
 * {@link #of}.
 */
final class HttpError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int status;
    final ErrorCode code;
    final String leader;

    HttpError(int status, ErrorCode code, String message, String leader) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.leader = leader;
    }

    static HttpError badRequest(String message) {
        return new HttpError(400, ErrorCode.BAD_REQUEST, message, null);
    }

    /** 413 naming the limit and the configuration property that sets it. */
    static HttpError tooLarge(String what, long limit, String unit, String property) {
        return new HttpError(413, ErrorCode.TOO_LARGE,
                what + " exceeds the limit of " + limit + " " + unit + " (" + property + ")", null);
    }

    static HttpError notFound(String message) {
        return new HttpError(404, ErrorCode.BAD_REQUEST, message, null);
    }

    static HttpError methodNotAllowed(String method, String path, String allowed) {
        return new HttpError(405, ErrorCode.BAD_REQUEST,
                "method " + method + " not allowed on " + path + "; allowed: " + allowed, null);
    }

    static int status(ErrorCode code) {
        return switch (code) {
            case TOPIC_NOT_FOUND -> 404;
            case NOT_LEADER -> 421;
            case SHUTTING_DOWN, BUSY -> 503;
            case TOO_LARGE -> 413;
            case BAD_REQUEST, MISMATCHED_CLUSTER_ID -> 400;
            case INTERNAL_ERROR, SUCCESS -> 500;
        };
    }

    /** Maps a Forest Bus error; {@code leaderHttp} is the leader's HTTP address for NOT_LEADER. */
    static HttpError of(ForestBusException e, String leaderHttp) {
        String text = e.code() == ErrorCode.INTERNAL_ERROR && !(e.getMessage() != null && e.getMessage().startsWith("internal error"))
                ? "internal error: " + e.getMessage() : e.getMessage();
        return new HttpError(status(e.code()), e.code(), text, leaderHttp);
    }
}
