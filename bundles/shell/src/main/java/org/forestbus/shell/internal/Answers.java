package org.forestbus.shell.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.ForestBusException;

/** Waiting for a topic's answer in a shell command: its error comes out as the Forest Bus error it is. */
final class Answers {

    private Answers() {
    }

    static <T> T await(CompletableFuture<T> f, long timeout, TimeUnit unit) throws Exception {
        try {
            return f.get(timeout, unit);
        } catch (ExecutionException e) {
            throw ForestBusException.from(e);
        }
    }
}
