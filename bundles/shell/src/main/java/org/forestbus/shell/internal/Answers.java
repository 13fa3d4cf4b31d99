package org.forestbus.shell.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.forestbus.api.ForestBusException;

/** Waiting for a topic's answer in a shell command: its error comes out as the Forest Bus error it is. */
final class Answers {

    private Answers() {
    }

    /**
     * Waits for the answer. When the wait ends without one (Ctrl-C interrupts the command, or the
     * timeout passes) the request is cancelled, so a long poll does not stay parked in the topic
     * after the command has given up on it.
     */
    static <T> T await(CompletableFuture<T> f, long timeout, TimeUnit unit) throws Exception {
        try {
            return f.get(timeout, unit);
        } catch (ExecutionException e) {
            throw ForestBusException.from(e);
        } catch (InterruptedException | TimeoutException e) {
            f.cancel(false);
            throw e;
        }
    }
}
