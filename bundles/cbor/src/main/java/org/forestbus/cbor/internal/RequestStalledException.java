package org.forestbus.cbor.internal;

import java.io.IOException;

/** A request stopped arriving part-way (request.timeout.ms without a byte); the connection is closed. */
final class RequestStalledException extends IOException {
    private static final long serialVersionUID = 1L;

    RequestStalledException(String message) {
        super(message);
    }
}
