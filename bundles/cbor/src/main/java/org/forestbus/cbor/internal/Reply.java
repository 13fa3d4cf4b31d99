package org.forestbus.cbor.internal;

/**
 * Outcome of one RPC call: either a reply body ({@code error} empty) or an RPC-level error
 * string (sent in the response header, with the empty struct as body). {@code payloadBytes} is
 * the message data it carries, reserved in its connection's output budget by
 * {@link RpcHandler.Caller#reserveOutput} (0 for replies without messages).
 */
record Reply(String error, WireWriter.Body body, long payloadBytes) {

    static Reply ok(WireWriter.Body body) {
        return new Reply("", body, 0);
    }

    /** A reply carrying {@code payloadBytes} of message data, already reserved in the connection's output budget. */
    static Reply ok(WireWriter.Body body, long payloadBytes) {
        return new Reply("", body, payloadBytes);
    }

    static Reply error(String error) {
        return new Reply(error.isEmpty() ? "unknown error" : error, WireWriter.EMPTY, 0);
    }
}
