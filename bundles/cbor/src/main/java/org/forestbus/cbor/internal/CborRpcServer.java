package org.forestbus.cbor.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * The CBOR-RPC listener of the original Forest Bus ({@code -cbor host:port}, FORESTBUS-SPEC §6):
 * methods {@code RPCHandler.SendMessages}, {@code ReceiveMessages}, {@code GetClusterDetails} and
 * {@code GetTopicDetails} for the Python and Java clients. The cluster-internal methods of the
 * original ({@code IdentifyNode}, {@code RequestVote}, {@code AppendEntries},
 * {@code ConfigurationChange}) are not served here ("rpc: can't find method").
 *
 * <p>Threads (all owned here, stopped on deactivation): one acceptor, one reader per connection
 * (which also writes what a non-blocking socket did not take at once), and {@link #WRITER_THREADS}
 * writers that encode large replies; small replies are written by the thread that completes them. No thread waits for a
 * request: long polls and commit waits are futures of the {@link org.forestbus.api.TopicService}.
 * Deactivation closes the listener and every open connection.
 */
@Component(configurationPid = "org.forestbus.cbor", service = {})
@Designate(ocd = CborRpcConfig.class)
public final class CborRpcServer {

    private static final Logger LOG = LoggerFactory.getLogger(CborRpcServer.class);

    /**
     * Threads encoding large replies (CPU only: their writes never block). Their queue holds at most
     * one task per request in flight, {@code max.connections * max.pending.requests}.
     */
    static final int WRITER_THREADS = Math.max(2, Runtime.getRuntime().availableProcessors());
    /** Reply bytes queued per connection before it is not read further, in units of {@code max.read.bytes}. */
    static final int QUEUED_READ_REPLIES = 2;
    /** Pause after a failed accept (e.g. out of file descriptors) before the next. */
    static final long ACCEPT_BACKOFF_MS = 100;
    /** At most one log line per this many ms about failing accepts. */
    private static final long ACCEPT_LOG_INTERVAL_MS = 1_000;

    private final ServerSocketChannel server;
    private final RpcHandler handler;
    private final BoundedCborParser.Factory cbor;
    private final CborRpcConfig cfg;
    private final Set<CborConnection> connections = ConcurrentHashMap.newKeySet();
    private final ExecutorService acceptor;
    private final ThreadPoolExecutor readers;
    private final ExecutorService writers;
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger unserved = new AtomicInteger();
    private final MemoryBudget sendMemory;
    private final MemoryBudget replyMemory;
    private final Acceptor accept;

    /** Takes the next connection from the listener (a seam for tests that make accepting fail). */
    @FunctionalInterface
    interface Acceptor {
        SocketChannel accept(ServerSocketChannel listener) throws IOException;
    }

    @Activate
    public CborRpcServer(@Reference TopicRegistry registry, @Reference NodeInfo node, CborRpcConfig cfg)
            throws IOException {
        this(registry, node, cfg, ServerSocketChannel::accept);
    }

    CborRpcServer(TopicRegistry registry, NodeInfo node, CborRpcConfig cfg, Acceptor accept) throws IOException {
        this.cfg = cfg;
        this.accept = accept;
        this.handler = new RpcHandler(registry, node,
                new RpcHandler.Limits(Math.max(1, cfg.max_read_messages()), Math.max(1, cfg.max_read_bytes()),
                        Math.max(0, cfg.max_wait_ms())));
        this.cbor = new BoundedCborParser.Factory(cfg.max_nesting_depth(), cfg.max_request_bytes());
        this.sendMemory = new MemoryBudget("max.buffered.send.bytes", cfg.max_buffered_send_bytes());
        this.replyMemory = new MemoryBudget("max.buffered.reply.bytes", cfg.max_buffered_reply_bytes());
        this.server = ServerSocketChannel.open();
        server.socket().setReuseAddress(true);
        String host = cfg.host() == null ? "" : cfg.host().trim();
        try {
            server.bind(host.isEmpty() ? new InetSocketAddress(cfg.port()) : new InetSocketAddress(host, cfg.port()), 128);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        this.readers = new ThreadPoolExecutor(0, Math.max(1, cfg.max_connections()) + 16, 30, TimeUnit.SECONDS,
                new SynchronousQueue<>(), threads("forestbus-cbor-conn-"));
        ThreadPoolExecutor w = new ThreadPoolExecutor(WRITER_THREADS, WRITER_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), threads("forestbus-cbor-write-"));
        w.allowCoreThreadTimeOut(true);
        this.writers = w;
        this.acceptor = Executors.newSingleThreadExecutor(threads("forestbus-cbor-accept-"));
        acceptor.execute(this::acceptLoop);
        LOG.info("CBOR-RPC listening on {}", server.socket().getLocalSocketAddress());
    }

    /** The bound port (useful with {@code port=0}). */
    int port() {
        return server.socket().getLocalPort();
    }

    /** Open connections right now. */
    int connectionCount() {
        return connections.size();
    }

    /** Reply bytes owed to all connections' sockets right now. */
    long queuedBytes() {
        return connections.stream().mapToLong(CborConnection::queuedBytes).sum();
    }

    /** The send budget shared by this listener's connections (tests). */
    MemoryBudget sendMemory() {
        return sendMemory;
    }

    /** The reply budget shared by this listener's connections (tests). */
    MemoryBudget replyMemory() {
        return replyMemory;
    }

    @Deactivate
    void deactivate() {
        try {
            server.close();
        } catch (IOException e) {
            LOG.debug("closing the listener failed", e);
        }
        acceptor.shutdownNow();
        for (CborConnection c : List.copyOf(connections)) {
            c.close(null);
        }
        readers.shutdownNow();
        writers.shutdownNow();
        try {
            if (!acceptor.awaitTermination(5, TimeUnit.SECONDS) || !readers.awaitTermination(5, TimeUnit.SECONDS)
                    || !writers.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("CBOR-RPC threads did not stop within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("CBOR-RPC listener on port {} stopped", server.socket().getLocalPort());
    }

    /** Runs until the listener is closed; a failed accept is logged (rate-limited) and retried after a pause. */
    private void acceptLoop() {
        long lastReport = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(ACCEPT_LOG_INTERVAL_MS);
        int failures = 0;
        while (server.isOpen()) {
            SocketChannel s;
            try {
                s = accept.accept(server);
            } catch (IOException | RuntimeException e) {
                if (!server.isOpen()) {
                    return; // closed by deactivate
                }
                failures++;
                if (System.nanoTime() - lastReport >= TimeUnit.MILLISECONDS.toNanos(ACCEPT_LOG_INTERVAL_MS)) {
                    LOG.error("CBOR-RPC accept failed, {} time(s) since the last report; retrying every {} ms",
                            failures, ACCEPT_BACKOFF_MS, e);
                    lastReport = System.nanoTime();
                    failures = 0;
                }
                try {
                    Thread.sleep(ACCEPT_BACKOFF_MS);
                } catch (InterruptedException ie) {
                    return; // deactivate stops the acceptor
                }
                continue;
            }
            if (connections.size() >= cfg.max_connections()) {
                int n = refused.incrementAndGet();
                if (n == 1 || n % 100 == 0) {
                    LOG.warn("CBOR-RPC: {} connections open, the limit; refused {} so far", connections.size(), n);
                }
                closeQuietly(s);
                continue;
            }
            CborConnection c = null;
            try {
                s.socket().setTcpNoDelay(true);
                s.socket().setKeepAlive(true); // a peer that vanished without FIN or RST is found in time
                c = new CborConnection(s, handler, cbor, writers, sendMemory, replyMemory, cfg.max_request_bytes(),
                        Math.max(1, cfg.max_messages_per_request()), Math.max(1, cfg.max_pending_requests()),
                        QUEUED_READ_REPLIES * (long) Math.max(1, cfg.max_read_bytes()), Math.max(1, cfg.request_timeout_ms()),
                        connections::remove);
                connections.add(c);
                readers.execute(c);
            } catch (IOException | RejectedExecutionException e) {
                int n = unserved.incrementAndGet();
                if (n == 1 || n % 100 == 0) {
                    LOG.warn("CBOR-RPC: cannot serve {}: {} ({} connections refused so far for this)",
                            s.socket().getRemoteSocketAddress(), e.toString(), n);
                }
                if (c != null) {
                    c.close(null);
                }
                closeQuietly(s);
            }
        }
    }

    private static void closeQuietly(SocketChannel s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
