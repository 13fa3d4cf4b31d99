package org.forestbus.client.tools;

import java.util.function.UnaryOperator;
import org.forestbus.client.ForestBusClient;

/** The tools' package-private test settings, for tests in other packages. */
public final class ToolHooks {

    private ToolHooks() {
    }

    /**
     * A {@code forestbus-get} whose client gets {@code clientSettings} after the connection string
     * and whose --follow pauses after failed reads from {@code firstRetryPauseMs} up to {@code maxRetryPauseMs}.
     */
    public static ForestBusGet get(UnaryOperator<ForestBusClient.Builder> clientSettings, long firstRetryPauseMs, long maxRetryPauseMs) {
        ForestBusGet get = new ForestBusGet();
        get.clientSettings = clientSettings;
        get.firstRetryPauseMs = firstRetryPauseMs;
        get.maxRetryPauseMs = maxRetryPauseMs;
        return get;
    }
}
