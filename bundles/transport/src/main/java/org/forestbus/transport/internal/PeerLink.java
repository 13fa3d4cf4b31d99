package org.forestbus.transport.internal;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.forestbus.api.transport.PeerStatus;

/**
 * Everything this node keeps about one peer. Fields marked "I/O thread" are touched only by the
 * selector thread; the queue and its byte count are shared with {@code send()} callers.
 */
final class PeerLink {

    /** One queued (topic, payload); {@link #size} is what it adds to a DATA frame body. */
    record Rec(byte[] topic, byte[] payload) {
        int size() {
            return Wire.RECORD_OVERHEAD + topic.length + payload.length;
        }
    }

    final String name;
    /** True when this node dials the peer (this node's name sorts first); otherwise the peer dials us. */
    final boolean dialer;
    final ConcurrentLinkedQueue<Rec> queue = new ConcurrentLinkedQueue<>();
    /** Sum of {@link Rec#size} over {@link #queue}; reserved before a record is added, released after it is taken. */
    final AtomicLong queuedBytes = new AtomicLong();
    /** Set by the first send() after the I/O thread last looked at this link; clears before the I/O thread drains. */
    final AtomicBoolean writeRequested = new AtomicBoolean();

    /** Authenticated connection up: send() accepts frames only then. */
    volatile boolean connected;
    volatile String address = "";
    volatile String lastError;
    volatile long framesSent;
    volatile long framesReceived;
    volatile long wireFramesSent;
    /** DATA frames written by the sending thread itself (TcpPeerTransport.writeNow), not the I/O thread. */
    volatile long wireFramesSentBySender;
    volatile long wireFramesReceived;
    volatile long dropped;
    volatile long connects;

    volatile Connection conn; // set by the I/O thread: the current connection (dialing, handshaking or open); read by senders
    int failures;             // I/O thread: consecutive failed attempts (backoff exponent)
    long nextDialNanos;       // I/O thread

    PeerLink(String name, boolean dialer) {
        this.name = name;
        this.dialer = dialer;
    }

    /** Drops everything queued (stale once the connection it was meant for is gone); returns the record count. */
    int dropQueue() {
        int n = 0;
        Rec r;
        while ((r = queue.poll()) != null) {
            queuedBytes.addAndGet(-r.size());
            n++;
        }
        dropped += n;
        return n;
    }

    PeerStatus status() {
        return new PeerStatus(name, address, connected, framesSent, framesReceived, queuedBytes.get(), lastError);
    }
}
