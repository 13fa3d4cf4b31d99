package org.forestbus.transport.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.transport.FrameHandler;
import org.forestbus.api.transport.PeerStatus;
import org.forestbus.api.transport.PeerTransport;
import org.forestbus.transport.internal.Connection.State;
import org.forestbus.transport.internal.Wire.ProtocolException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link PeerTransport} over TCP: one authenticated connection per peer pair, dialed by the node
 * whose name sorts first (so there is never a pair of crossing connections to dedupe), carrying
 * the frames of every topic. One selector thread does all I/O, the handshakes, the timers and
 * calls the {@link FrameHandler}s; {@code send} only appends to the peer's bounded queue, and
 * the selector thread drains everything queued for a peer into one DATA frame per write.
 *
 * <p>Frames are accepted by {@code send} only while the peer is connected and authenticated;
 * what is still queued when a connection drops is discarded (Raft retries with fresh state).
 * A protocol violation (bad checksum, oversized or malformed frame, unexpected type, failed
 * authentication) closes only that connection and is logged with the peer and the reason.
 *
 * <p>Without a secret, or when the cluster has no other node, the transport starts idle: no
 * listener, no thread, {@code send} returns false.
 *
 * <p>For callers (Raft): {@code send} never blocks and copies the payload; false means "not
 * queued" (peer unknown, not connected, or its queue full) and is the backpressure signal.
 * Handlers run on the single I/O thread and must only hand work off; a handler that throws is
 * logged and the remaining frames are still delivered. Frames are not encrypted and, after the
 * handshake, are protected by CRC32C only (no per-frame MAC, no TLS yet).
 */
@Component(service = PeerTransport.class, configurationPid = "org.forestbus.transport")
@Designate(ocd = TransportConfig.class)
public final class TcpPeerTransport implements PeerTransport {

    private static final Logger LOG = LoggerFactory.getLogger(TcpPeerTransport.class);
    /** Connections accepted but not yet authenticated, at most. */
    static final int MAX_PENDING_INBOUND = 32;
    /**
     * A DATA frame takes queued records until it holds this many bytes (or one record, if larger):
     * big enough that thousands of heartbeats share a frame, small enough that buffers stay reusable.
     */
    static final int COALESCE_BYTES = 1 << 20;
    /** Read and write buffers above this size are not kept for reuse between frames. */
    private static final int KEEP_BUFFER_BYTES = 2 << 20;

    private final String self;
    private final String clusterId;
    private final NodeInfo nodeInfo;
    private final byte[] key;
    private final int maxFrameBytes;
    /** Bound of one peer's send queue: min(queue.bytes.per.peer, queue.bytes.total / peers). */
    private final long queueBytesPerPeer;
    private final long reconnectMinNanos;
    private final long reconnectMaxNanos;
    private final long connectTimeoutNanos;
    private final long handshakeTimeoutNanos;
    private final long idleTimeoutNanos;
    private final long pingNanos;

    private final Map<String, PeerLink> links;
    private final ConcurrentHashMap<String, FrameHandler> handlers = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<PeerLink> writeRequests = new ConcurrentLinkedQueue<>();
    private final Selector selector;
    /** The listener; null while the port could not be bound (retried every {@link #LISTEN_RETRY_NANOS}). */
    private volatile ServerSocketChannel server;
    private final InetSocketAddress listenAddress;
    private long nextListenNanos;
    private volatile String listenError;
    static final long LISTEN_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private final ExecutorService io;
    private final SecureRandom nonces = new SecureRandom();
    private final SplittableRandom jitter = new SplittableRandom();
    private final Set<Connection> conns = new HashSet<>(); // I/O thread
    private final Map<String, Long> warned = new HashMap<>(); // I/O thread: violation → last WARN
    private final ByteBuffer pingFrame = Wire.frame(Wire.PING);
    private volatile boolean running = true;
    private volatile Thread ioThread;

    private final AtomicLong violations = new AtomicLong();
    private volatile String lastViolation;
    private final Wire.RecordSink sink = this::deliver;
    private String deliveringFrom; // I/O thread

    @Activate
    public TcpPeerTransport(@Reference NodeInfo nodeInfo, TransportConfig cfg) {
        this.nodeInfo = nodeInfo;
        this.self = nodeInfo.nodeName();
        this.clusterId = nodeInfo.clusterId();
        this.maxFrameBytes = cfg.max_frame_bytes();
        long queueBytesTotal = cfg.queue_bytes_total();
        this.reconnectMinNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(1, cfg.reconnect_min_ms()));
        this.reconnectMaxNanos = Math.max(reconnectMinNanos, TimeUnit.MILLISECONDS.toNanos(cfg.reconnect_max_ms()));
        this.connectTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(cfg.connect_timeout_ms());
        this.handshakeTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(cfg.handshake_timeout_ms());
        this.idleTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(cfg.idle_timeout_ms());
        this.pingNanos = idleTimeoutNanos / 4;
        if (maxFrameBytes < Wire.PRE_AUTH_MAX_BODY) {
            throw new IllegalArgumentException("max.frame.bytes must be at least " + Wire.PRE_AUTH_MAX_BODY);
        }
        if (cfg.queue_bytes_per_peer() < 1 || queueBytesTotal < 1 || cfg.idle_timeout_ms() < 100
                || cfg.connect_timeout_ms() < 1
                || cfg.handshake_timeout_ms() < 1) {
            throw new IllegalArgumentException("org.forestbus.transport: queue.bytes.per.peer, queue.bytes.total, "
                    + "connect.timeout.ms and handshake.timeout.ms must be positive, idle.timeout.ms at least 100");
        }
        Map<String, PeerLink> m = new TreeMap<>();
        for (NodeInfo.Peer p : nodeInfo.peers()) {
            if (!p.name().equals(self)) {
                PeerLink link = new PeerLink(p.name(), self.compareTo(p.name()) < 0);
                link.address = p.peerAddress();
                m.put(p.name(), link);
            }
        }
        this.links = Collections.unmodifiableMap(m);
        // Equal shares of the node-wide bound: a peer that stops reading fills its own share only,
        // never the room replication to the others needs (a majority may still be reachable).
        this.queueBytesPerPeer = Math.min(cfg.queue_bytes_per_peer(), queueBytesTotal / Math.max(1, m.size()));
        String secret = cfg._secret();
        if (links.isEmpty()) {
            LOG.info("Peer transport idle: node '{}' has no peers (single-node cluster)", self);
            this.key = null;
        } else if (secret == null || secret.isEmpty()) {
            LOG.error("Peer transport REFUSES to peer node '{}' with {}: no cluster secret. Set '.secret' in "
                    + "etc/org.forestbus.transport.cfg to the same value on every node", self, links.keySet());
            links.values().forEach(l -> l.lastError = "no cluster secret configured (.secret)");
            this.key = null;
        } else {
            this.key = secret.getBytes(StandardCharsets.UTF_8);
        }
        this.listenAddress = new InetSocketAddress(cfg.host(), cfg.port());
        if (key == null) {
            this.selector = null;
            this.io = null;
            return;
        }
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new IllegalStateException("peer transport cannot open a selector: " + e, e);
        }
        if (!listen()) {
            // e.g. the port is still held by a process that is going away: peers we dial still
            // connect; inbound peers reach us once the port is free
            LOG.warn("Peer transport of node '{}' cannot listen on {} ({}); retrying every second, dialing peers "
                    + "meanwhile", self, listenAddress, listenError);
        }
        this.io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "forestbus-transport-" + self);
            t.setDaemon(true);
            ioThread = t;
            return t;
        });
        LOG.info("Peer transport of node '{}' (cluster '{}') listening on {}; dials {}, accepts {}", self, clusterId,
                server != null ? server.socket().getLocalSocketAddress() : listenAddress + " (not yet bound)",
                links.values().stream().filter(l -> l.dialer).map(l -> l.name).toList(),
                links.values().stream().filter(l -> !l.dialer).map(l -> l.name).toList());
        io.execute(this::loop);
    }

    /** Stops the I/O thread (joined), closes every connection and the listener. */
    @Deactivate
    public void deactivate() {
        running = false;
        if (io == null) {
            return;
        }
        selector.wakeup();
        io.shutdown();
        try {
            if (!io.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("Peer transport I/O thread of '{}' did not stop within 10 s", self);
                io.shutdownNow();
            }
            Thread t = ioThread;
            if (t != null) {
                t.join(TimeUnit.SECONDS.toMillis(5)); // the executor terminates just before its thread ends
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            io.shutdownNow();
        }
        closeQuietly();
    }

    // ---------------------------------------------------------------- API (any thread)

    /**
     * {@inheritDoc}
     *
     * <p>Copies the payload's remaining bytes (the caller's buffer is not modified). Returns false
     * while the peer is not connected and authenticated. A record that can never fit in a frame
     * of {@code max.frame.bytes} is a caller bug: {@link IllegalArgumentException}.
     */
    @Override
    public boolean send(String toNode, String topic, ByteBuffer payload) {
        return send(toNode, topic, payload, false);
    }

    @Override
    public boolean sendUrgent(String toNode, String topic, ByteBuffer payload) {
        return send(toNode, topic, payload, true);
    }

    private boolean send(String toNode, String topic, ByteBuffer payload, boolean urgent) {
        PeerLink link = links.get(toNode);
        if (link == null || !link.connected || !running) {
            return false;
        }
        byte[] t = topic.getBytes(StandardCharsets.UTF_8);
        if (t.length > 0xFFFF) {
            throw new IllegalArgumentException("topic name longer than 65535 UTF-8 bytes");
        }
        int size = Wire.RECORD_OVERHEAD + t.length + payload.remaining();
        if ((long) size + Wire.DATA_PREFIX > maxFrameBytes) {
            throw new IllegalArgumentException("frame of " + size + " bytes for topic '" + topic
                    + "' exceeds max.frame.bytes=" + maxFrameBytes);
        }
        long queued = link.queuedBytes.addAndGet(size);
        if (queued > queueBytesPerPeer && queued != size) { // (a record beyond the share goes when it is alone)
            link.queuedBytes.addAndGet(-size);
            return false;
        }
        byte[] p = new byte[payload.remaining()];
        payload.duplicate().get(p);
        link.queue.add(new PeerLink.Rec(t, p));
        if (urgent && link.connected && writeNow(link.conn)) {
            return true;
        }
        if (link.writeRequested.compareAndSet(false, true)) {
            writeRequests.add(link);
            selector.wakeup();
        }
        return true;
    }

    /** Records sent closer together than this after a write coalesce on the I/O thread instead. */
    private static final long INLINE_GAP_NANOS = 100_000;

    /**
     * {@link #sendUrgent}: the sender writes the queued records itself when the connection is
     * open and idle (no frame in progress, no control frame waiting, nobody else writing, nothing
     * written in the last {@link #INLINE_GAP_NANOS}) and the socket takes the whole frame: no
     * wake-up of the I/O thread, one thread hop less per Raft message. Returns false when the I/O
     * thread must do (or finish) the write. Never blocks: the channel is non-blocking and the
     * lock is only tried.
     */
    private boolean writeNow(Connection c) {
        if (c == null || c.state != State.OPEN || c.closed || !c.writeLock.tryLock()) {
            return false;
        }
        try {
            if (c.closed || (c.out != null && c.out.hasRemaining()) || !c.control.isEmpty()
                    || System.nanoTime() - c.lastWriteNanos < INLINE_GAP_NANOS) {
                return false; // (a burst: records arriving this close together coalesce on the I/O thread)
            }
            if (c.link.queue.isEmpty()) {
                return true; // a concurrent writer took our record into its frame
            }
            c.out = dataFrame(c);
            try {
                if (c.ch.write(c.out) > 0) {
                    c.lastWriteNanos = System.nanoTime();
                }
            } catch (IOException e) {
                return false; // the I/O thread's next write fails the same way and closes the connection
            }
            if (c.out.hasRemaining()) {
                return false; // the I/O thread finishes the frame (and waits for OP_WRITE if it must)
            }
            frameWritten(c);
            c.out = null;
            c.link.wireFramesSentBySender++;
            return c.link.queue.isEmpty();
        } finally {
            c.writeLock.unlock();
        }
    }

    @Override
    public AutoCloseable register(String topic, FrameHandler handler) {
        FrameHandler old = handlers.putIfAbsent(topic, handler);
        if (old != null) {
            throw new IllegalStateException("topic '" + topic + "' already has a frame handler");
        }
        return () -> handlers.remove(topic, handler);
    }

    @Override
    public List<PeerStatus> peers() {
        return links.values().stream().map(PeerLink::status).toList();
    }

    // ---------------------------------------------------------------- diagnostics for tests

    /** The bound listener port (tests and tools). */
    public int localPort() {
        return server == null ? -1 : server.socket().getLocalPort();
    }

    long violations() {
        return violations.get();
    }

    String lastViolation() {
        return lastViolation;
    }

    long wireFramesSentBySender(String peer) {
        return links.get(peer).wireFramesSentBySender;
    }

    long wireFramesReceived(String peer) {
        return links.get(peer).wireFramesReceived;
    }

    long connects(String peer) {
        return links.get(peer).connects;
    }

    // ---------------------------------------------------------------- I/O thread

    private void loop() {
        try {
            while (running) {
                long now = System.nanoTime();
                long waitNanos = timers(now);
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos) + 1));
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k.attachment() == null) {
                        accept();
                    } else {
                        ready((Connection) k.attachment(), k);
                    }
                }
                PeerLink link;
                while ((link = writeRequests.poll()) != null) {
                    link.writeRequested.set(false); // before draining: a send() racing with us re-requests
                    Connection c = link.conn;
                    if (c != null && c.state == State.OPEN) {
                        flush(c); // also finishes a frame a sender began (writeNow)
                    }
                }
            }
        } catch (Throwable t) {
            LOG.error("Peer transport I/O thread of '{}' failed; peering stops", self, t);
        } finally {
            for (Connection c : new ArrayList<>(conns)) {
                close(c, "transport stopped", false);
            }
        }
    }

    /** Binds the listener; false (with {@code listenError} set) when the address cannot be bound. */
    private boolean listen() {
        ServerSocketChannel s = null;
        try {
            s = ServerSocketChannel.open();
            s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            s.bind(listenAddress);
            s.configureBlocking(false);
            s.register(selector, SelectionKey.OP_ACCEPT);
            server = s;
            listenError = null;
            return true;
        } catch (IOException e) {
            closeChannel(s);
            listenError = e.toString();
            return false;
        }
    }

    /** Runs due timers (dials, timeouts, pings, listener retry); returns nanos until the next one. */
    private long timers(long now) {
        long next = TimeUnit.SECONDS.toNanos(1);
        if (server == null) {
            if (now - nextListenNanos >= 0) {
                if (listen()) {
                    LOG.info("Peer transport of node '{}' now listening on {}", self,
                            server.socket().getLocalSocketAddress());
                } else {
                    nextListenNanos = now + LISTEN_RETRY_NANOS;
                    LOG.debug("Peer transport of node '{}' still cannot listen on {}: {}", self, listenAddress,
                            listenError);
                }
            }
            next = Math.min(next, LISTEN_RETRY_NANOS);
        }
        for (PeerLink l : links.values()) {
            if (l.dialer && l.conn == null) {
                if (now - l.nextDialNanos >= 0) {
                    dial(l, now);
                } else {
                    next = Math.min(next, l.nextDialNanos - now);
                }
            }
        }
        for (Connection c : new ArrayList<>(conns)) {
            if (c.state == State.OPEN) {
                long idle = now - c.lastReadNanos;
                if (idle >= idleTimeoutNanos) {
                    violation(c, "no bytes received for " + TimeUnit.NANOSECONDS.toMillis(idle) + " ms (idle timeout)");
                    continue;
                }
                next = Math.min(next, idleTimeoutNanos - idle);
                c.writeLock.lock();
                try {
                    if (c.out == null || !c.out.hasRemaining()) { // else a write is pending: no ping needed
                        if (now - c.lastWriteNanos >= pingNanos) {
                            c.control.add(pingFrame.duplicate());
                            flush(c);
                        } else {
                            next = Math.min(next, c.lastWriteNanos + pingNanos - now);
                        }
                    }
                } finally {
                    c.writeLock.unlock();
                }
            } else {
                long limit = c.state == State.CONNECTING ? connectTimeoutNanos : handshakeTimeoutNanos;
                long age = now - c.stateSinceNanos;
                if (age >= limit && c.state == State.CONNECTING) {
                    close(c, "connect to " + c.remote + " timed out after " + TimeUnit.NANOSECONDS.toMillis(age) + " ms", false);
                } else if (age >= limit) {
                    violation(c, "handshake timed out after " + TimeUnit.NANOSECONDS.toMillis(age) + " ms (state " + c.state + ")");
                } else {
                    next = Math.min(next, limit - age);
                }
            }
        }
        return next;
    }

    private void dial(PeerLink l, long now) {
        String addr = nodeInfo.peer(l.name).map(NodeInfo.Peer::peerAddress).orElse("");
        l.address = addr;
        InetSocketAddress sa;
        try {
            int colon = addr.lastIndexOf(':');
            sa = new InetSocketAddress(addr.substring(0, colon), Integer.parseInt(addr.substring(colon + 1)));
            if (sa.isUnresolved()) {
                throw new IllegalArgumentException("unresolved host");
            }
        } catch (RuntimeException e) {
            l.lastError = "invalid or unresolvable peer address '" + addr + "' for node '" + l.name + "'";
            failed(l, l.lastError, now);
            return;
        }
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open();
            configure(ch);
            Connection c = new Connection(ch, true, State.CONNECTING, now);
            c.link = l;
            c.peerName = l.name;
            c.remote = addr;
            l.conn = c;
            conns.add(c);
            c.key = ch.register(selector, SelectionKey.OP_CONNECT, c);
            if (ch.connect(sa)) {
                connected(c);
            }
        } catch (IOException e) {
            if (l.conn != null) {
                close(l.conn, "connect to " + addr + " failed: " + e, false);
            } else {
                closeChannel(ch);
                failed(l, "connect to " + addr + " failed: " + e, now);
            }
        }
    }

    private void connected(Connection c) throws IOException {
        c.ch.finishConnect();
        long now = System.nanoTime();
        c.state = State.HELLO_SENT;
        c.stateSinceNanos = now;
        c.lastReadNanos = now;
        c.connectorNonce = nonce();
        c.key.interestOps(SelectionKey.OP_READ);
        c.control.add(Wire.hello(clusterId, self, c.peerName, c.connectorNonce));
        flush(c);
    }

    private void accept() {
        while (true) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                LOG.warn("Peer transport of '{}' cannot accept a connection: {}", self, e.toString());
                return;
            }
            if (ch == null) {
                return;
            }
            try {
                String remote = String.valueOf(ch.getRemoteAddress());
                long pending = conns.stream().filter(c -> !c.outbound && c.state != State.OPEN).count();
                if (pending >= MAX_PENDING_INBOUND) {
                    countViolation("refused connection from " + remote + ": " + pending + " connections already handshaking");
                    LOG.warn("Peer transport of '{}': {}", self, lastViolation);
                    closeChannel(ch);
                    continue;
                }
                configure(ch);
                Connection c = new Connection(ch, false, State.AWAIT_HELLO, System.nanoTime());
                c.remote = remote;
                c.key = ch.register(selector, SelectionKey.OP_READ, c);
                conns.add(c);
            } catch (IOException e) {
                LOG.debug("Peer transport of '{}': accepted connection failed at once: {}", self, e.toString());
                closeChannel(ch);
            }
        }
    }

    private static void configure(SocketChannel ch) throws IOException {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    }

    private void ready(Connection c, SelectionKey k) {
        try {
            if (k.isConnectable()) {
                connected(c);
                return;
            }
            if (k.isWritable()) {
                flush(c);
            }
            if (!c.closed && k.isReadable()) {
                read(c);
            }
        } catch (ProtocolException e) {
            violation(c, e.getMessage());
        } catch (IOException e) {
            close(c, (c.state == State.CONNECTING ? "connect to " + c.remote + " failed: " : "I/O error: ") + e, false);
        } catch (RuntimeException e) { // a bug must cost one connection, not the I/O thread
            LOG.error("Peer transport of '{}': internal error on the connection with {}", self, c.describe(), e);
            close(c, "internal error: " + e, false);
        }
    }

    /** Reads what is available into {@code buf}; -1 after handling end of stream, else the bytes read (maybe 0). */
    private int fill(Connection c, ByteBuffer buf) throws IOException {
        int n = c.ch.read(buf);
        if (n < 0) {
            eof(c);
            return -1;
        }
        if (n > 0) {
            c.lastReadNanos = System.nanoTime();
        }
        return n;
    }

    /**
     * Reads and handles every complete frame available. Frames that fit {@link Connection#in}
     * are parsed in place from it, so one read usually brings several small frames (appends,
     * acknowledgements, heartbeats) and a short read ends the turn without a second, empty read:
     * the selector reports the socket again if more arrived. A frame too big for it gets its own
     * body buffer that the socket fills directly (large batches are not copied). The header's
     * length is checked against the cap of the connection's state (4 KiB before authentication,
     * max.frame.bytes after) before any body buffer is allocated; the CRC is checked before the
     * body is parsed. Handlers must not keep the body buffer past the call (it is reused).
     */
    private void read(Connection c) throws IOException, ProtocolException {
        ByteBuffer in = c.in; // unparsed bytes in [0, position) between turns
        while (!c.closed) {
            if (c.body != null) {
                if (fill(c, c.body) <= 0 || c.body.hasRemaining()) {
                    return;
                }
                ByteBuffer body = c.body.flip();
                c.body = null;
                handleFrame(c, c.header, body);
                continue;
            }
            int n = fill(c, in);
            if (n <= 0) {
                return;
            }
            boolean drained = in.hasRemaining(); // a short read: the socket had no more for now
            in.flip();
            while (!c.closed && in.remaining() >= Wire.HEADER) {
                int at = in.position();
                long len = in.getInt(at) & 0xFFFFFFFFL;
                long cap = c.state == State.OPEN ? maxFrameBytes : Wire.PRE_AUTH_MAX_BODY;
                if (len > cap) {
                    throw new ProtocolException("frame length " + len + " exceeds the cap of " + cap + " bytes"
                            + (c.state == State.OPEN ? " (max.frame.bytes)" : " before authentication"));
                }
                int l = (int) len;
                if (in.remaining() >= Wire.HEADER + l) {
                    in.position(at + Wire.HEADER + l);
                    handleFrame(c, in.slice(at, Wire.HEADER), in.slice(at + Wire.HEADER, l));
                } else {
                    if (Wire.HEADER + l > in.capacity()) { // too big to wait for in `in`: read the rest in place
                        c.header.clear().put(in.slice(at, Wire.HEADER)).flip();
                        c.body = bodyBuffer(c, l).put(in.slice(at + Wire.HEADER, in.remaining() - Wire.HEADER));
                        in.position(in.limit());
                    }
                    break;
                }
            }
            in.compact();
            if (c.body == null && drained) {
                return;
            }
        }
    }

    private static ByteBuffer bodyBuffer(Connection c, int l) {
        if (c.spareBody != null && c.spareBody.capacity() >= l) {
            return c.spareBody.clear().limit(l);
        }
        ByteBuffer b = ByteBuffer.allocate(l);
        if (l <= KEEP_BUFFER_BYTES) {
            c.spareBody = b;
        }
        return b;
    }

    private void handleFrame(Connection c, ByteBuffer header, ByteBuffer body) throws IOException, ProtocolException {
        byte type = header.get(4);
        if (Wire.crc(header, body) != header.getInt(5)) {
            throw new ProtocolException("checksum mismatch on " + Wire.typeName(type) + " frame of " + body.limit()
                    + " bytes");
        }
        frame(c, type, body);
    }

    private void eof(Connection c) {
        if (c.state == State.OPEN) {
            close(c, "connection closed by " + c.describe(), false);
        } else {
            violation(c, "connection closed by " + c.describe() + " during the handshake (state " + c.state + ")");
        }
    }

    private void frame(Connection c, byte type, ByteBuffer body) throws IOException, ProtocolException {
        switch (c.state) {
            case AWAIT_HELLO -> {
                expect(c, type, Wire.HELLO);
                onHello(c, Wire.readHello(body));
            }
            case HELLO_SENT -> {
                if (type == Wire.REJECT) {
                    onReject(c, body);
                    return;
                }
                expect(c, type, Wire.CHALLENGE);
                onChallenge(c, body);
            }
            case AUTH_SENT -> {
                if (type == Wire.REJECT) {
                    onReject(c, body);
                    return;
                }
                expect(c, type, Wire.ACCEPT);
                Wire.end(body, "ACCEPT");
                open(c, c.link);
            }
            case AWAIT_AUTH -> {
                if (type == Wire.REJECT) {
                    onReject(c, body);
                    return;
                }
                expect(c, type, Wire.AUTH);
                onAuth(c, body);
            }
            case OPEN -> {
                switch (type) {
                    case Wire.DATA -> {
                        PeerLink l = c.link;
                        l.wireFramesReceived++;
                        deliveringFrom = l.name;
                        l.framesReceived += Wire.readData(body, sink);
                    }
                    case Wire.PING -> Wire.end(body, "PING");
                    case Wire.REJECT -> onReject(c, body);
                    default -> throw new ProtocolException("unexpected " + Wire.typeName(type) + " frame after the handshake");
                }
            }
            default -> throw new ProtocolException("frame " + Wire.typeName(type) + " while " + c.state);
        }
    }

    private static void expect(Connection c, byte type, byte expected) throws ProtocolException {
        if (type != expected) {
            throw new ProtocolException("expected " + Wire.typeName(expected) + " but got " + Wire.typeName(type)
                    + " (state " + c.state + ")");
        }
    }

    private void deliver(String topic, ByteBuffer payload) {
        FrameHandler h = handlers.get(topic);
        if (h == null) {
            return;
        }
        try {
            h.onFrame(deliveringFrom, topic, payload);
        } catch (RuntimeException e) {
            LOG.error("Frame handler of topic '{}' failed on a frame from '{}'", topic, deliveringFrom, e);
        }
    }

    /** Acceptor: check who is calling before proving ourselves. */
    private void onHello(Connection c, Wire.Hello h) throws IOException, ProtocolException {
        c.peerName = h.from();
        PeerLink link = links.get(h.from());
        if (!h.clusterId().equals(clusterId)) {
            reject(c, "wrong cluster id '" + h.clusterId() + "'");
        } else if (!h.to().equals(self)) {
            reject(c, "connection meant for node '" + h.to() + "' reached node '" + self + "'");
        } else if (link == null) {
            reject(c, "unknown node '" + h.from() + "' (not a peer of '" + self + "')");
        } else if (link.dialer) {
            reject(c, "node '" + h.from() + "' must not dial '" + self + "': the node whose name sorts first dials");
        } else {
            c.connectorNonce = h.nonce();
            c.acceptorNonce = nonce();
            byte[] proof = Wire.hmac(key, "acceptor", c.connectorNonce, c.acceptorNonce, clusterId, h.from(), self);
            c.state = State.AWAIT_AUTH;
            c.control.add(Wire.frame(Wire.CHALLENGE, c.acceptorNonce, proof));
            flush(c);
        }
    }

    /** Connector: the acceptor must prove the secret before we do. */
    private void onChallenge(Connection c, ByteBuffer body) throws IOException, ProtocolException {
        c.acceptorNonce = Wire.bytes(body, Wire.NONCE);
        byte[] proof = Wire.bytes(body, Wire.MAC);
        Wire.end(body, "CHALLENGE");
        byte[] expected = Wire.hmac(key, "acceptor", c.connectorNonce, c.acceptorNonce, clusterId, self, c.peerName);
        if (!Wire.macEquals(expected, proof)) {
            reject(c, "node '" + c.peerName + "' failed to prove the cluster secret (bad HMAC; secrets differ?)");
            return;
        }
        c.state = State.AUTH_SENT;
        c.control.add(Wire.frame(Wire.AUTH, Wire.hmac(key, "connector", c.connectorNonce, c.acceptorNonce, clusterId,
                self, c.peerName)));
        flush(c);
    }

    private void onAuth(Connection c, ByteBuffer body) throws IOException, ProtocolException {
        byte[] proof = Wire.bytes(body, Wire.MAC);
        Wire.end(body, "AUTH");
        byte[] expected = Wire.hmac(key, "connector", c.connectorNonce, c.acceptorNonce, clusterId, c.peerName, self);
        if (!Wire.macEquals(expected, proof)) {
            reject(c, "node '" + c.peerName + "' failed to prove the cluster secret (bad HMAC; secrets differ?)");
            return;
        }
        c.control.add(Wire.frame(Wire.ACCEPT));
        open(c, links.get(c.peerName));
        flush(c);
    }

    private void onReject(Connection c, ByteBuffer body) throws ProtocolException {
        String reason = Wire.readStr(body);
        violation(c, "rejected by " + (c.peerName == null ? "the peer" : "node '" + c.peerName + "'") + ": " + reason);
    }

    /** Both sides authenticated: this connection becomes the link's only one. */
    private void open(Connection c, PeerLink link) {
        if (link.conn != null && link.conn != c) {
            close(link.conn, "replaced by a new connection from node '" + link.name + "'", false);
        }
        link.conn = c;
        c.link = link;
        c.state = State.OPEN;
        c.stateSinceNanos = System.nanoTime();
        link.dropQueue(); // anything racing in from before belongs to an older connection
        link.failures = 0;
        link.connects++;
        if (!c.outbound) {
            link.address = c.remote;
        }
        link.lastError = null;
        link.connected = true;
        LOG.info("Peer transport: node '{}' connected to node '{}' ({}, {})", self, link.name, c.remote,
                c.outbound ? "outbound" : "inbound");
    }

    /** Sends a REJECT with the reason (best effort), logs it and closes. */
    private void reject(Connection c, String reason) {
        try {
            c.ch.write(Wire.frame(Wire.REJECT, Wire.str(reason)));
        } catch (IOException | RuntimeException ignored) {
            // closing anyway
        }
        violation(c, reason);
    }

    private void violation(Connection c, String reason) {
        countViolation(c.describe() + ": " + reason);
        close(c, reason, true);
    }

    private void countViolation(String what) {
        violations.incrementAndGet();
        lastViolation = what;
    }

    /**
     * Writes control frames first, then (when open) everything queued for the peer as ONE DATA
     * frame per round, until the socket would block (then waits for OP_WRITE).
     */
    private void flush(Connection c) {
        c.writeLock.lock();
        try {
            while (!c.closed) {
                if (c.out != null && c.out.hasRemaining()) {
                    if (c.ch.write(c.out) > 0) {
                        c.lastWriteNanos = System.nanoTime();
                    }
                    if (c.out.hasRemaining()) {
                        interest(c, SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                        return;
                    }
                    frameWritten(c);
                }
                ByteBuffer ctl = c.control.poll();
                if (ctl != null) {
                    c.out = ctl;
                } else if (c.state == State.OPEN && !c.link.queue.isEmpty()) {
                    c.out = dataFrame(c);
                } else {
                    c.out = null;
                    interest(c, SelectionKey.OP_READ);
                    return;
                }
            }
        } catch (IOException e) {
            close(c, "write to " + c.describe() + " failed: " + e, false);
        } finally {
            c.writeLock.unlock();
        }
    }

    /** {@code c.out} is written whole: an oversized DATA buffer is not kept (caller holds {@code c.writeLock}). */
    private static void frameWritten(Connection c) {
        if (c.out == c.dataBuf && c.dataBuf.capacity() > KEEP_BUFFER_BYTES) {
            c.dataBuf = null;
        }
    }

    /**
     * Drains the link's queue into one DATA frame of up to {@link #COALESCE_BYTES} (a single larger
     * record, at most max.frame.bytes as send() checked, goes alone).
     */
    private ByteBuffer dataFrame(Connection c) {
        PeerLink l = c.link;
        List<PeerLink.Rec> batch = c.batch;
        long size = Wire.DATA_PREFIX;
        long target = Math.min(maxFrameBytes, COALESCE_BYTES);
        PeerLink.Rec r;
        while ((r = l.queue.peek()) != null && (batch.isEmpty() || size + r.size() <= target)) {
            l.queue.poll();
            batch.add(r);
            size += r.size();
        }
        l.queuedBytes.addAndGet(-(size - Wire.DATA_PREFIX));
        int total = Wire.HEADER + (int) size;
        ByteBuffer buf = c.dataBuf;
        if (buf == null || buf.capacity() < total) {
            buf = ByteBuffer.allocate(Math.max(total, 64 * 1024));
            c.dataBuf = buf;
        }
        buf.clear().position(Wire.HEADER);
        buf.putInt(batch.size());
        for (PeerLink.Rec rec : batch) {
            buf.putShort((short) rec.topic().length).put(rec.topic()).putInt(rec.payload().length).put(rec.payload());
        }
        Wire.finishFrame(buf, 0, Wire.DATA);
        l.framesSent += batch.size();
        l.wireFramesSent++;
        batch.clear();
        return buf.flip();
    }

    private static void interest(Connection c, int ops) {
        if (c.key.isValid() && c.key.interestOps() != ops) {
            c.key.interestOps(ops);
        }
    }

    private void close(Connection c, String reason, boolean violation) {
        if (c.closed) {
            return;
        }
        c.closed = true;
        conns.remove(c);
        if (c.key != null) {
            c.key.cancel();
        }
        closeChannel(c.ch);
        PeerLink l = c.link;
        if (violation) {
            logViolation(c, reason);
        }
        if (l == null || l.conn != c) {
            return;
        }
        l.conn = null;
        boolean wasConnected = l.connected;
        l.connected = false;
        l.lastError = reason;
        int dropped = l.dropQueue();
        if (!running) {
            return;
        }
        if (wasConnected) {
            LOG.info("Peer transport: node '{}' lost node '{}': {} ({} queued frames dropped)", self, l.name, reason, dropped);
        }
        if (l.dialer) {
            failed(l, reason, System.nanoTime());
        }
    }

    /** WARN once a minute per (peer, reason), DEBUG in between: a misconfigured peer retries forever. */
    private void logViolation(Connection c, String reason) {
        String who = c.peerName != null ? c.peerName : c.remote.replaceFirst(":\\d+$", "");
        String key = who + "|" + reason;
        long now = System.nanoTime();
        Long last = warned.get(key);
        if (last == null || now - last > TimeUnit.MINUTES.toNanos(1)) {
            if (warned.size() > 1000) {
                warned.clear();
            }
            warned.put(key, now);
            LOG.warn("Peer transport of '{}' closed connection with {}: {}", self, c.describe(), reason);
        } else {
            LOG.debug("Peer transport of '{}' closed connection with {}: {}", self, c.describe(), reason);
        }
    }

    /** Schedules the next dial: exponential backoff from reconnect.min.ms to reconnect.max.ms, half of it jitter. */
    private void failed(PeerLink l, String reason, long now) {
        l.failures++;
        long delay = reconnectMinNanos << Math.min(l.failures - 1, 30);
        if (delay <= 0 || delay > reconnectMaxNanos) {
            delay = reconnectMaxNanos;
        }
        delay = delay / 2 + jitter.nextLong(delay / 2 + 1);
        l.nextDialNanos = now + delay;
        if (l.failures == 1) {
            LOG.warn("Peer transport: node '{}' cannot reach node '{}': {} (retrying with backoff)", self, l.name, reason);
        } else {
            LOG.debug("Peer transport: node '{}' cannot reach node '{}' (attempt {}): {}", self, l.name, l.failures, reason);
        }
    }

    private byte[] nonce() {
        byte[] b = new byte[Wire.NONCE];
        nonces.nextBytes(b);
        return b;
    }

    private static void closeChannel(java.nio.channels.Channel ch) {
        if (ch == null) {
            return;
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    private void closeQuietly() {
        closeChannel(server);
        if (selector != null) {
            try {
                selector.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }
}
