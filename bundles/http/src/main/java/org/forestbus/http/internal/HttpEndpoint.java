package org.forestbus.http.internal;

import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.TopicRegistry;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP client endpoint: owns one embedded Jetty 12 {@link Server} (its own thread pool
 * named {@code forestbus-http}), started in the constructor and stopped in
 * {@link #deactivate()}. Registers no service. A configuration change re-creates the component
 * (no {@code @Modified}): the port is rebound.
 *
 * <p>Shutdown order: new requests and parked long-polls get 503 SHUTTING_DOWN at once; then
 * Jetty stops gracefully, giving in-flight sends up to {@code stop.timeout.ms} to finish.
 */
@Component(configurationPid = "org.forestbus.http", service = {})
@Designate(ocd = HttpConfig.class)
public final class HttpEndpoint {

    private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoint.class);
    static final String THREAD_NAME = "forestbus-http";

    private final Server server;
    private final ServerConnector connector;
    private final ApiHandler api;
    private final int boundPort;

    @Activate
    public HttpEndpoint(@Reference TopicRegistry topics, @Reference NodeInfo node, HttpConfig config) throws Exception {
        this(topics, node, Settings.from(config));
    }

    HttpEndpoint(TopicRegistry topics, NodeInfo node, Settings s) throws Exception {
        QueuedThreadPool pool = new QueuedThreadPool(s.maxThreads(), Math.min(4, s.maxThreads()));
        pool.setName(THREAD_NAME);
        pool.setStopTimeout(Math.max(1_000, s.stopTimeoutMs()));
        server = new Server(pool);
        server.setStopAtShutdown(false); // the OSGi framework stops us; no JVM shutdown hook
        server.setStopTimeout(s.stopTimeoutMs());

        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(s.host());
        connector.setPort(s.port());
        connector.setIdleTimeout(s.idleTimeoutMs());
        server.addConnector(connector);

        api = new ApiHandler(topics, node, s, pool);
        Graceful graceful = new Graceful(api);
        // during shutdown, idle keep-alive connections are closed after this (Jetty default 1 s)
        graceful.setShutdownIdleTimeout(Math.min(1_000, Math.max(1, s.stopTimeoutMs())));
        server.setHandler(graceful);
        server.setErrorHandler(new JsonErrors(api.wire()));
        try {
            server.start();
        } catch (Exception e) {
            server.stop();
            throw new IllegalStateException("cannot start the HTTP endpoint on " + s.host() + ":" + s.port()
                    + " (org.forestbus.http host/port): " + e.getMessage(), e);
        }
        boundPort = connector.getLocalPort();
        LOG.info("Forest Bus HTTP endpoint listening on http://{}:{}", s.host(), boundPort);
    }

    /** The port actually bound (useful when configured with port 0). */
    int port() {
        return boundPort;
    }

    /** Long-polls currently waiting (diagnostics and tests). */
    int pendingPolls() {
        return api.pendingPolls();
    }

    /** The request handler (tests). */
    ApiHandler api() {
        return api;
    }

    @Deactivate
    void deactivate() {
        long t0 = System.nanoTime();
        api.beginShutdown();
        try {
            server.stop();
            LOG.info("Forest Bus HTTP endpoint on port {} stopped in {} ms", boundPort, (System.nanoTime() - t0) / 1_000_000);
        } catch (Exception e) {
            LOG.warn("Forest Bus HTTP endpoint did not stop cleanly: {}", e.toString(), e);
        }
    }

    /** Graceful stop that answers requests arriving during shutdown in our error format. */
    private static final class Graceful extends GracefulHandler {
        private final ApiHandler api;

        Graceful(ApiHandler api) {
            super(api);
            this.api = api;
        }

        @Override
        protected void handleShutdownRejection(Request request, Response response, Callback callback) {
            HttpError e = new HttpError(503, ErrorCode.SHUTTING_DOWN, "the HTTP endpoint is shutting down", null);
            writeBody(response, callback, ApiHandler.respondWithCbor(request), api.wire().error(ApiHandler.respondWithCbor(request), e));
        }
    }

    /** Errors Jetty raises itself (bad HTTP, idle timeouts, failures) in the same JSON/CBOR shape. */
    private static final class JsonErrors extends ErrorHandler {
        private final Wire wire;

        JsonErrors(Wire wire) {
            this.wire = wire;
        }

        @Override
        protected void generateResponse(Request request, Response response, int status, String message,
                                        Throwable cause, Callback callback) {
            String text = message != null ? message : cause != null ? cause.toString() : "HTTP " + status;
            boolean cbor = ApiHandler.respondWithCbor(request);
            writeBody(response, callback, cbor, wire.error(cbor, new HttpError(status, code(status), text, null)));
        }

        /** Our error body suits every method (Jetty's default writes none for unknown methods). */
        @Override
        public boolean errorPageForMethod(String method) {
            return true;
        }

        /** Requests Jetty could not parse (no request object exists): always JSON. */
        @Override
        public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
            fields.put(HttpHeader.CONTENT_TYPE, ApiHandler.JSON);
            String text = "bad HTTP request" + (reason == null ? "" : ": " + reason);
            return wire.error(false, new HttpError(status, code(status), text, null));
        }

        private static ErrorCode code(int status) {
            return status == 413 ? ErrorCode.TOO_LARGE
                    : status == 503 ? ErrorCode.SHUTTING_DOWN
                    : status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.BAD_REQUEST;
        }
    }

    private static void writeBody(Response response, Callback callback, boolean cbor, ByteBuffer body) {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, cbor ? ApiHandler.CBOR : ApiHandler.JSON);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.remaining());
        response.write(true, body, callback);
    }

    @Override
    public String toString() {
        return "HttpEndpoint[" + (connector.getHost() == null ? "*" : connector.getHost()) + ":" + port() + "]";
    }

}
