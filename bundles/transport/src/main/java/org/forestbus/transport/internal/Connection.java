package org.forestbus.transport.internal;

import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One TCP connection and its protocol state, used by the I/O thread; once OPEN, a sender may also
 * write DATA frames itself under {@link #writeLock}, which guards the output side ({@link #out},
 * {@link #control}, {@link #dataBuf}, {@link #batch}, {@link #lastWriteNanos}).
 */
final class Connection {
    /** Size of {@link #in}: many acknowledgements or heartbeats per read; bigger frames bypass it. */
    static final int READ_BUFFER_BYTES = 64 << 10;

    enum State {
        /** Connector: TCP connect in progress. */
        CONNECTING,
        /** Connector: HELLO sent, waiting for CHALLENGE. */
        HELLO_SENT,
        /** Connector: AUTH sent, waiting for ACCEPT. */
        AUTH_SENT,
        /** Acceptor: waiting for HELLO. */
        AWAIT_HELLO,
        /** Acceptor: CHALLENGE sent, waiting for AUTH. */
        AWAIT_AUTH,
        /** Authenticated both ways: DATA and PING only. */
        OPEN
    }

    final SocketChannel ch;
    final boolean outbound;
    SelectionKey key;
    volatile State state;
    long stateSinceNanos;
    long lastReadNanos;
    long lastWriteNanos;
    volatile boolean closed;

    /** Outbound: the link dialed. Inbound: set only once authenticated. */
    PeerLink link;
    /** The node name the remote side claims (inbound, from HELLO) or is expected to be (outbound). */
    String peerName;
    String remote;
    byte[] connectorNonce;
    byte[] acceptorNonce;

    /** Bytes read but not yet parsed; frames up to its size are handled in place (see {@code TcpPeerTransport.read}). */
    final ByteBuffer in = ByteBuffer.allocate(READ_BUFFER_BYTES);
    /** Header and body of a frame larger than {@link #in}, read directly into its own buffer. */
    final ByteBuffer header = ByteBuffer.allocate(Wire.HEADER);
    ByteBuffer body;
    ByteBuffer spareBody;

    final ReentrantLock writeLock = new ReentrantLock();
    final ArrayDeque<ByteBuffer> control = new ArrayDeque<>();
    ByteBuffer out;
    ByteBuffer dataBuf;
    final List<PeerLink.Rec> batch = new ArrayList<>();

    Connection(SocketChannel ch, boolean outbound, State state, long now) {
        this.ch = ch;
        this.outbound = outbound;
        this.state = state;
        this.stateSinceNanos = now;
        this.lastReadNanos = now;
        this.lastWriteNanos = now;
    }

    String describe() {
        return peerName == null ? remote : "node '" + peerName + "' (" + remote + ")";
    }
}
