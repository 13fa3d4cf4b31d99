package org.forestbus.client.tools;

import java.util.function.UnaryOperator;
import org.forestbus.client.ForestBusClient;

/** The tools' package-private test settings, for tests in other packages. */
public final class ToolHooks {

    private ToolHooks() {
    }

    /** A {@code forestbus-get} whose client gets {@code clientSettings} after the connection string. */
    public static ForestBusGet get(UnaryOperator<ForestBusClient.Builder> clientSettings) {
        ForestBusGet get = new ForestBusGet();
        get.clientSettings = clientSettings;
        return get;
    }
}
