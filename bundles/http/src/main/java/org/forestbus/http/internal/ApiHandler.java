package org.forestbus.http.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.NotLeaderException;
import org.forestbus.api.ShuttingDownException;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicRegistry;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Forest Bus REST routes on Jetty's core handler API.
 *
 * <p>Threading: {@link #handle} never blocks. Bodies are read through {@link BodyReader}
 * (demand callbacks), topic futures are continued on the Jetty pool ({@link #executor}) so no
 * encoding runs on a topic's internal thread, and responses are written with one asynchronous
 * {@code write(last=true)}. A long-poll therefore holds no thread while it waits.
 *
 * <p>Every request ends in exactly one {@link Exchange#respond}: the {@code done} flag makes
 * late completions (a future that completes after shutdown already answered 503) no-ops.
 */
final class ApiHandler extends Handler.Abstract.NonBlocking {

    private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);
    static final String JSON = "application/json";
    static final String CBOR = "application/cbor";
    static final String OCTETS = "application/octet-stream";
    private static final long POLL_IDLE_GRACE_MS = 10_000;

    private final TopicRegistry topics;
    private final NodeInfo node;
    private final Settings settings;
    private final Wire wire;
    private final Executor executor;
    /** Exchanges waiting on a long-poll read; answered 503 at shutdown. */
    private final Set<Exchange> polls = ConcurrentHashMap.newKeySet();
    private volatile boolean stopping;
    /** System.nanoTime() until which a stopping endpoint lets in-flight sends finish. */
    private volatile long stopDeadline;
    /**
     * Bytes of send bodies held now (max.buffered.send.bytes): each send counts its Content-Length
     * (max.request.bytes when chunked) from its headers until its exchange completes. Bodies are
     * read without a thread each, so nothing else bounds how many are buffered at once: 16 idle
     * connections declaring 16 MB bodies ran a 160 MB heap out of memory.
     */
    private final AtomicLong bufferedSendBytes = new AtomicLong();

    ApiHandler(TopicRegistry topics, NodeInfo node, Settings settings, Executor executor) {
        this.topics = topics;
        this.node = node;
        this.settings = settings;
        this.wire = new Wire(settings.maxRequestBytes(), settings.maxMessagesPerRequest());
        this.executor = executor;
    }

    Wire wire() {
        return wire;
    }

    /** From now on every request (new or waiting in a long-poll) is answered 503. */
    void beginShutdown() {
        stopDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.stopTimeoutMs());
        stopping = true;
        ShuttingDownException e = new ShuttingDownException("the HTTP endpoint");
        for (Exchange ex : polls) {
            ex.fail(e);
        }
    }

    /** Long-polls currently parked (for tests and diagnostics). */
    int pendingPolls() {
        return polls.size();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        Exchange ex = new Exchange(request, response, callback, respondWithCbor(request));
        try {
            if (stopping) {
                throw new ShuttingDownException("the HTTP endpoint");
            }
            route(ex);
        } catch (Throwable t) {
            ex.fail(t);
        }
        return true;
    }

    private void route(Exchange ex) {
        String path = Request.getPathInContext(ex.request);
        String method = ex.request.getMethod();
        switch (path) {
            case "/health" -> {
                ex.allow(method, "GET", path);
                ex.respond(200, wire.health(ex.cbor));
            }
            case "/cluster" -> {
                ex.allow(method, "GET", path);
                cluster(ex);
            }
            case "/topics", "/topics/" -> {
                ex.allow(method, "GET", path);
                List<TopicStatus> all = topics.topics().stream().map(TopicService::status).toList();
                ex.respond(200, wire.topics(ex.cbor, all));
            }
            default -> {
                if (!path.startsWith("/topics/")) {
                    throw HttpError.notFound("no route " + path);
                }
                String rest = path.substring("/topics/".length());
                int slash = rest.indexOf('/');
                String name = slash < 0 ? rest : rest.substring(0, slash);
                String tail = slash < 0 ? "" : rest.substring(slash);
                if (name.isEmpty()) {
                    throw HttpError.notFound("no route " + path);
                }
                switch (tail) {
                    case "", "/" -> {
                        ex.allow(method, "GET", path);
                        ex.respond(200, wire.status(ex.cbor, topics.require(name).status()));
                    }
                    case "/messages" -> {
                        if ("GET".equals(method)) {
                            read(ex, topics.require(name));
                        } else {
                            ex.allow(method, "GET, POST", path);
                            send(ex, topics.require(name));
                        }
                    }
                    case "/members" -> {
                        TopicService t = topics.require(name);
                        if ("GET".equals(method)) {
                            ex.respond(200, wire.members(ex.cbor, members(t)));
                        } else {
                            ex.allow(method, "GET, POST", path);
                            changeMembers(ex, t);
                        }
                    }
                    case "/leader" -> {
                        ex.allow(method, "POST", path);
                        String to = requiredParam(query(ex.request), "node");
                        continueWith(ex, topics.require(name).transferLeadership(to), v -> wire.leader(ex.cbor, to));
                    }
                    default -> throw HttpError.notFound("no route " + path);
                }
            }
        }
    }

    private static TopicMembers members(TopicService t) {
        try {
            return t.members();
        } catch (UnsupportedOperationException e) {
            throw HttpError.notFound("topic " + t.name() + " has no replicated membership");
        }
    }

    /** {@code POST /topics/{t}/members?change=add-learner|promote|remove&node=N}: answers when the change commits. */
    private void changeMembers(Exchange ex, TopicService t) {
        Fields q = query(ex.request);
        String change = requiredParam(q, "change");
        String node = requiredParam(q, "node");
        TopicMembers.Change c = switch (change.trim().toLowerCase(Locale.ROOT)) {
            case "add-learner" -> TopicMembers.Change.ADD_LEARNER;
            case "promote" -> TopicMembers.Change.PROMOTE;
            case "remove" -> TopicMembers.Change.REMOVE;
            default -> throw HttpError.badRequest("parameter change must be add-learner, promote or remove, got '"
                    + change + "'");
        };
        continueWith(ex, t.changeMembers(c, node), m -> wire.members(ex.cbor, m));
    }

    private static String requiredParam(Fields q, String name) {
        String v = q.getValue(name);
        if (v == null || v.isBlank()) {
            throw HttpError.badRequest("parameter " + name + " is required");
        }
        return v.trim();
    }

    private void cluster(Exchange ex) {
        List<String> peers = node.peers().stream().map(NodeInfo.Peer::name).toList();
        List<String> names = topics.topics().stream().map(TopicService::name).toList();
        ex.respond(200, wire.cluster(ex.cbor, node.clusterId(), node.nodeName(), peers, names));
    }

    // ------------------------------------------------------------------ GET messages

    private void read(Exchange ex, TopicService topic) {
        Fields q = query(ex.request);
        long from = longParam(q, "from", 1);
        long max = longParam(q, "max", settings.maxReadMessages());
        long wait = longParam(q, "wait", 0);
        Wire.Encoding encoding = Wire.Encoding.parse(q.getValue("encoding"));
        if (from < 0) {
            throw HttpError.badRequest("parameter from must be >= 0, got " + from);
        }
        if (max < 1) {
            throw HttpError.badRequest("parameter max must be >= 1, got " + max);
        }
        if (wait < 0) {
            throw HttpError.badRequest("parameter wait must be >= 0 (milliseconds), got " + wait);
        }
        int maxMessages = (int) Math.min(max, settings.maxReadMessages()); // clamp: max.read.messages
        long waitMs = Math.min(wait, settings.maxWaitMs());                // clamp: max.wait.ms
        CompletableFuture<org.forestbus.api.ReadResult> f =
                topic.read(from, maxMessages, settings.maxReadBytes(), waitMs);
        if (!f.isDone()) {
            park(ex, waitMs);
        }
        continueWith(ex, f, r -> wire.messages(ex.cbor, r, encoding));
    }

    /**
     * Registers a waiting long-poll: shutdown answers it, a client disconnect releases it, and
     * the connection's idle timeout is ignored until the wait (plus a grace) is over.
     */
    private void park(Exchange ex, long waitMs) {
        polls.add(ex);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs + POLL_IDLE_GRACE_MS);
        ex.request.addIdleTimeoutListener(timeout -> System.nanoTime() - deadline >= 0);
        ex.request.addFailureListener(ex::abort);
        if (stopping) { // beginShutdown may have swept the set just before the add
            ex.fail(new ShuttingDownException("the HTTP endpoint"));
        }
    }

    // ------------------------------------------------------------------ POST messages

    private void send(Exchange ex, TopicService topic) {
        String type = mediaType(ex.request.getHeaders().get(HttpHeader.CONTENT_TYPE));
        boolean octets = OCTETS.equals(type);
        boolean cborBody = CBOR.equals(type);
        if (!(type == null || octets || cborBody || JSON.equals(type))) {
            throw new HttpError(415, ErrorCode.BAD_REQUEST, "unsupported Content-Type " + type
                    + "; use " + JSON + ", " + CBOR + " or " + OCTETS, null);
        }
        Boolean queryWait = boolParam(query(ex.request), "waitForCommit");
        long declared = ex.request.getLength();
        if (declared <= settings.maxRequestBytes()) { // a larger one is refused before any byte is read
            reserveSendMemory(ex, declared >= 0 ? declared : settings.maxRequestBytes());
        }
        BodyReader.read(ex.request, settings.maxRequestBytes(), body -> {
            try {
                List<byte[]> payloads;
                boolean waitForCommit;
                if (octets) {
                    byte[] b = body.bytes().length == body.length() ? body.bytes() : Arrays.copyOf(body.bytes(), body.length());
                    payloads = List.of(b);
                    waitForCommit = queryWait == null || queryWait;
                } else {
                    Wire.SendBody sb = wire.parseSend(body.bytes(), body.length(), cborBody);
                    payloads = sb.payloads();
                    waitForCommit = sb.waitForCommit() != null ? sb.waitForCommit() : queryWait == null || queryWait;
                }
                MessageBatch batch = MessageBatch.of(payloads);
                CompletableFuture<long[]> f = topic.send(batch, waitForCommit);
                if (!f.isDone()) {
                    awaitAck(ex, batch.count());
                }
                continueWith(ex, f, ids -> wire.ids(ex.cbor, ids));
            } catch (Throwable t) {
                ex.fail(t);
            }
        }, ex::fail);
    }

    /**
     * Counts {@code bytes} against max.buffered.send.bytes until the exchange completes, or answers
     * 503 BUSY (Retry-After: 1) when that much is held already. Like the CBOR-RPC listener's
     * budget, one body may pass the limit: at most the limit plus one body is held.
     */
    private void reserveSendMemory(Exchange ex, long bytes) {
        for (long held = bufferedSendBytes.get(); ; held = bufferedSendBytes.get()) {
            if (held >= settings.maxBufferedSendBytes()) {
                ex.response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
                throw new HttpError(503, ErrorCode.BUSY, "send bodies of " + held + " bytes are held, the limit "
                        + "(max.buffered.send.bytes = " + settings.maxBufferedSendBytes() + "); nothing stored, retry later",
                        null);
            }
            if (bufferedSendBytes.compareAndSet(held, held + bytes)) {
                ex.onDone(() -> bufferedSendBytes.addAndGet(-bytes));
                return;
            }
        }
    }

    /** Bytes of send bodies held now (tests). */
    long bufferedSendBytes() {
        return bufferedSendBytes.get();
    }

    /**
     * A send waiting for its acknowledgement: when the connection's idle timeout fires first,
     * answer that the outcome is unknown (the messages may be stored), except while the endpoint
     * stops gracefully, which gives in-flight sends up to stop.timeout.ms.
     */
    private void awaitAck(Exchange ex, int count) {
        ex.request.addFailureListener(ex::abort);
        ex.request.addIdleTimeoutListener(timeout -> {
            if (stopping && System.nanoTime() - stopDeadline < 0) {
                return false;
            }
            ex.fail(stopping
                    ? new HttpError(503, ErrorCode.SHUTTING_DOWN, "the HTTP endpoint stopped before the send of "
                            + count + " message(s) was acknowledged; they may or may not be stored", null)
                    : new HttpError(500, ErrorCode.INTERNAL_ERROR, "the send of " + count + " message(s) was not "
                            + "acknowledged within idle.timeout.ms (" + settings.idleTimeoutMs()
                            + " ms); they may or may not be stored", null));
            return false; // answered above
        });
    }

    // ------------------------------------------------------------------ plumbing

    /** Answers with the future's value (encoded) or its error; off the topic's thread when it had to wait. */
    private <T> void continueWith(Exchange ex, CompletableFuture<T> f, Function<T, ByteBuffer> encode) {
        if (f.isDone()) {
            finish(ex, f, encode);
        } else {
            f.whenComplete((v, e) -> execute(() -> finish(ex, f, encode)));
        }
    }

    private static <T> void finish(Exchange ex, CompletableFuture<T> f, Function<T, ByteBuffer> encode) {
        try {
            ex.respond(200, encode.apply(f.join()));
        } catch (Throwable t) {
            ex.fail(t);
        }
    }

    private void execute(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) { // pool stopping: answer inline, it is short
            task.run();
        }
    }

    private static Fields query(Request request) {
        try {
            return Request.extractQueryParameters(request);
        } catch (RuntimeException e) {
            throw HttpError.badRequest("malformed query string: " + e.getMessage());
        }
    }

    private static long longParam(Fields q, String name, long dflt) {
        String v = q.getValue(name);
        if (v == null || v.isEmpty()) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw HttpError.badRequest("parameter " + name + " must be an integer, got '" + v + "'");
        }
    }

    private static Boolean boolParam(Fields q, String name) {
        String v = q.getValue(name);
        if (v == null || v.isEmpty()) {
            return null;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw HttpError.badRequest("parameter " + name + " must be true or false, got '" + v + "'");
        };
    }

    /** The media type without parameters, lower case; null when absent. */
    static String mediaType(String header) {
        if (header == null || header.isBlank()) {
            return null;
        }
        int semi = header.indexOf(';');
        return (semi < 0 ? header : header.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    }

    /**
     * CBOR when the Accept header prefers {@code application/cbor} over {@code application/json}
     * (by q-value, then by order); when Accept names neither, CBOR iff the body is CBOR.
     */
    static boolean respondWithCbor(Request request) {
        double cborQ = 0;
        double jsonQ = 0;
        int cborPos = Integer.MAX_VALUE;
        int jsonPos = Integer.MAX_VALUE;
        int pos = 0;
        for (String value : request.getHeaders().getValuesList(HttpHeader.ACCEPT)) {
            for (String item : value.split(",")) {
                String[] parts = item.split(";");
                String type = parts[0].trim().toLowerCase(Locale.ROOT);
                double q = 1;
                for (int i = 1; i < parts.length; i++) {
                    String p = parts[i].trim();
                    if (p.startsWith("q=")) {
                        try {
                            q = Double.parseDouble(p.substring(2));
                        } catch (NumberFormatException ignored) {
                            q = 0;
                        }
                    }
                }
                if (type.equals(CBOR) && cborPos == Integer.MAX_VALUE) {
                    cborQ = q;
                    cborPos = pos;
                } else if (type.equals(JSON) && jsonPos == Integer.MAX_VALUE) {
                    jsonQ = q;
                    jsonPos = pos;
                }
                pos++;
            }
        }
        if (cborQ > 0 || jsonQ > 0) {
            return cborQ > jsonQ || (cborQ == jsonQ && cborPos < jsonPos);
        }
        return CBOR.equals(mediaType(request.getHeaders().get(HttpHeader.CONTENT_TYPE)));
    }

    /** One request/response: the response format and the exactly-once completion. */
    final class Exchange {
        final Request request;
        final Response response;
        final Callback callback;
        final boolean cbor;
        private final AtomicBoolean done = new AtomicBoolean();
        /** Runs once when the exchange completes (answered or aborted); set before it can. */
        private volatile Runnable onDone;

        Exchange(Request request, Response response, Callback callback, boolean cbor) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.cbor = cbor;
        }

        /** Throws 405 (with an Allow header) unless {@code method} is one of {@code allowed}. */
        void allow(String method, String allowed, String path) {
            for (String m : allowed.split(",\\s*")) {
                if (m.equals(method)) {
                    return;
                }
            }
            response.getHeaders().put(HttpHeader.ALLOW, allowed);
            throw HttpError.methodNotAllowed(method, path, allowed);
        }

        void onDone(Runnable r) {
            onDone = r;
        }

        private void completed() {
            polls.remove(this);
            Runnable r = onDone;
            if (r != null) {
                r.run();
            }
        }

        void respond(int status, ByteBuffer body) {
            if (!done.compareAndSet(false, true)) {
                return;
            }
            completed();
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, cbor ? CBOR : JSON);
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.remaining());
            response.write(true, body, callback);
        }

        void fail(Throwable t) {
            HttpError e = toHttpError(t);
            if (e.code == ErrorCode.INTERNAL_ERROR) {
                LOG.warn("{} {} failed: {}", request.getMethod(), request.getHttpURI().getPathQuery(), e.getMessage(),
                        t instanceof HttpError ? null : t);
            } else if (LOG.isDebugEnabled()) {
                LOG.debug("{} {} -> {} {}", request.getMethod(), request.getHttpURI().getPathQuery(), e.status, e.getMessage());
            }
            respond(e.status, wire.error(cbor, e));
        }

        /** The client went away or Jetty failed the request: release without answering. */
        void abort(Throwable t) {
            if (done.compareAndSet(false, true)) {
                completed();
                callback.failed(t);
            }
        }
    }

    private HttpError toHttpError(Throwable t) {
        if (t instanceof HttpError h) {
            return h;
        }
        ForestBusException fbe = ForestBusException.from(t);
        String leaderHttp = null;
        if (fbe instanceof NotLeaderException nle && nle.leader() != null) {
            leaderHttp = node.peer(nle.leader()).map(NodeInfo.Peer::httpAddress)
                    .filter(a -> a != null && !a.isEmpty()).orElse(null);
        }
        return HttpError.of(fbe, leaderHttp);
    }
}
