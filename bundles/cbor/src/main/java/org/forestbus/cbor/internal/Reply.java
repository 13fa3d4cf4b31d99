package org.forestbus.cbor.internal;

/**
 * Outcome of one RPC call: either a reply body ({@code error} empty) or an RPC-level error
 * string (sent in the response header, with the empty struct as body).
 */
record Reply(String error, WireWriter.Body body) {

    static Reply ok(WireWriter.Body body) {
        return new Reply("", body);
    }

    static Reply error(String error) {
        return new Reply(error.isEmpty() ? "unknown error" : error, WireWriter.EMPTY);
    }
}
