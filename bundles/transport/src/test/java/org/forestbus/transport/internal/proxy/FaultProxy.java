package org.forestbus.transport.internal.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fault-injecting TCP proxy for ONE directed link on loopback: it listens on
 * {@code 127.0.0.1:port()} and forwards every accepted connection to {@code 127.0.0.1:targetPort}.
 * Point the dialing node's peer address at {@link #port()}. Faults switch at runtime and apply to
 * open and future connections:
 *
 * <ul>
 *   <li>{@link #pass()}: bytes flow unchanged (the initial mode; also clears cut, pause and delay);</li>
 *   <li>{@link #blackhole()}: connections are accepted and kept open, every byte in both directions is
 *       swallowed (no RST, no FIN: only idle/handshake timeouts can notice);</li>
 *   <li>{@link #delay(long, long)}: every chunk is held {@code base ± jitter} ms, order kept;</li>
 *   <li>{@link #cut(Direction)}: bytes in one direction are dropped, the other passes;</li>
 *   <li>{@link #pause(Direction)}: the proxy stops reading one direction, so TCP backpressure builds
 *       up at the sender (a slow peer);</li>
 *   <li>{@link #resetAll()}: every open connection is reset (RST to both ends);</li>
 *   <li>{@link #corruptAfter(Direction, long)}: flips one byte after N more bytes in one direction.</li>
 * </ul>
 *
 * Threads: one acceptor plus four per connection (a reader and a writer per direction), from an
 * executor the proxy owns; {@link #close()} stops them all. Test code only.
 */
public final class FaultProxy implements AutoCloseable {

    /** FORWARD = from the dialing side to the target; BACKWARD = the answers. */
    public enum Direction { FORWARD, BACKWARD }

    private final ServerSocket server;
    private final int targetPort;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fault-proxy");
        t.setDaemon(true);
        return t;
    });
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final SplittableRandom random;
    private final Object pauseLock = new Object();
    private final boolean[] cut = new boolean[2];
    private final boolean[] paused = new boolean[2];
    private final AtomicLong[] corruptAfter = {new AtomicLong(-1), new AtomicLong(-1)};
    private volatile boolean blackhole;
    private volatile long delayBaseMs;
    private volatile long delayJitterMs;
    private volatile boolean closed;
    private final AtomicLong accepted = new AtomicLong();

    private FaultProxy(int targetPort, long seed) throws IOException {
        this.targetPort = targetPort;
        this.random = new SplittableRandom(seed);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    /** Starts a proxy on a free loopback port forwarding to {@code 127.0.0.1:targetPort}. */
    public static FaultProxy start(int targetPort) throws IOException {
        return new FaultProxy(targetPort, System.nanoTime());
    }

    /** As {@link #start(int)} with a fixed seed for the delay jitter. */
    public static FaultProxy start(int targetPort, long seed) throws IOException {
        return new FaultProxy(targetPort, seed);
    }

    /** The port to dial instead of the target's. */
    public int port() {
        return server.getLocalPort();
    }

    /** {@code 127.0.0.1:port()}. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Connections accepted since start. */
    public long acceptedConnections() {
        return accepted.get();
    }

    /** Connections currently open. */
    public int openConnections() {
        return links.size();
    }

    public void pass() {
        blackhole = false;
        delayBaseMs = 0;
        delayJitterMs = 0;
        synchronized (pauseLock) {
            cut[0] = cut[1] = false;
            paused[0] = paused[1] = false;
            pauseLock.notifyAll();
        }
    }

    public void blackhole() {
        blackhole = true;
    }

    public void delay(long baseMs, long jitterMs) {
        delayJitterMs = jitterMs;
        delayBaseMs = baseMs;
    }

    public void cut(Direction d) {
        synchronized (pauseLock) {
            cut[d.ordinal()] = true;
        }
    }

    public void pause(Direction d) {
        synchronized (pauseLock) {
            paused[d.ordinal()] = true;
        }
    }

    public void resetAll() {
        for (Link l : links) {
            l.close(true);
        }
    }

    /** Flips (XOR 0xFF) the byte that comes {@code bytes} bytes from now in direction {@code d}. */
    public void corruptAfter(Direction d, long bytes) {
        corruptAfter[d.ordinal()].set(bytes);
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        resetAll();
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            accepted.incrementAndGet();
            Socket upstream = new Socket();
            try {
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 2000);
            } catch (IOException e) {
                closeQuietly(client);
                closeQuietly(upstream);
                continue;
            }
            Link link = new Link(client, upstream);
            links.add(link);
            link.start();
        }
    }

    private record Chunk(long dueNanos, byte[] bytes, int length) {
    }

    private static final Chunk EOF = new Chunk(0, new byte[0], -1);

    /** One proxied connection: client ↔ upstream. */
    private final class Link {
        final Socket client;
        final Socket upstream;
        volatile boolean linkClosed;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void start() {
            pump(Direction.FORWARD, client, upstream);
            pump(Direction.BACKWARD, upstream, client);
        }

        void pump(Direction d, Socket from, Socket to) {
            LinkedBlockingQueue<Chunk> q = new LinkedBlockingQueue<>();
            threads.execute(() -> reader(d, from, q));
            threads.execute(() -> writer(to, q));
        }

        void reader(Direction d, Socket from, LinkedBlockingQueue<Chunk> q) {
            int i = d.ordinal();
            byte[] buf = new byte[64 * 1024];
            long lastDue = 0;
            try (InputStream in = from.getInputStream()) {
                while (!linkClosed) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    // a chunk read just before a pause is held too (at most one buffer), nothing more is read
                    synchronized (pauseLock) {
                        while (paused[i] && !linkClosed && !closed) {
                            pauseLock.wait(200);
                        }
                    }
                    if (blackhole || cut[i]) {
                        continue;
                    }
                    byte[] copy = java.util.Arrays.copyOf(buf, n);
                    long k = corruptAfter[i].get();
                    if (k >= 0) {
                        if (k < n) {
                            copy[(int) k] ^= (byte) 0xFF;
                            corruptAfter[i].set(-1);
                        } else {
                            corruptAfter[i].addAndGet(-n);
                        }
                    }
                    long due = System.nanoTime();
                    long base = delayBaseMs;
                    if (base > 0 || delayJitterMs > 0) {
                        long jitter = delayJitterMs;
                        long ms = base;
                        if (jitter > 0) {
                            synchronized (random) {
                                ms += random.nextLong(-jitter, jitter + 1);
                            }
                        }
                        due += TimeUnit.MILLISECONDS.toNanos(Math.max(0, ms));
                    }
                    lastDue = Math.max(due, lastDue); // delays never reorder bytes
                    q.add(new Chunk(lastDue, copy, n));
                }
            } catch (IOException | InterruptedException e) {
                // connection gone
            }
            if (blackhole) {
                // keep the other side open: a blackhole never signals anything
                return;
            }
            q.add(EOF);
        }

        void writer(Socket to, LinkedBlockingQueue<Chunk> q) {
            try {
                OutputStream out = to.getOutputStream();
                while (!linkClosed) {
                    Chunk c = q.poll(200, TimeUnit.MILLISECONDS);
                    if (c == null) {
                        continue;
                    }
                    if (c == EOF) {
                        break;
                    }
                    long wait;
                    while ((wait = c.dueNanos() - System.nanoTime()) > 0 && !linkClosed) {
                        LockSupport.parkNanos(wait);
                    }
                    if (blackhole) {
                        continue;
                    }
                    out.write(c.bytes(), 0, c.length());
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // connection gone
            }
            close(false);
        }

        void close(boolean reset) {
            if (linkClosed) {
                return;
            }
            linkClosed = true;
            links.remove(this);
            if (reset) {
                try {
                    client.setSoLinger(true, 0);
                    upstream.setSoLinger(true, 0);
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
            closeQuietly(client);
            closeQuietly(upstream);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
