package org.forestbus.cbor.internal;

import java.io.IOException;

/** A request broke a size limit; the connection cannot be resynchronised and is closed. */
final class RequestTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    RequestTooLargeException(String message) {
        super(message);
    }
}
