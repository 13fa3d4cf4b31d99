package org.forestbus.raft.core;

import java.util.ArrayDeque;

/**
 * The leader's view of one follower or learner (etcd-raft's {@code tracker.Progress}).
 *
 * <p>PROBE: at most one AppendEntries/RESET in flight ({@code probeSent}) until a reply or a
 * heartbeat reply; used after election and after a rejection to find the match point.
 * REPLICATE: the match point is known; appends are pipelined optimistically ({@code next}
 * advances on send), bounded by {@code maxInflightAppends} messages and
 * {@code maxInflightBytes} bytes not yet acknowledged.
 *
 * <p>Invariant: {@code match < next}.
 */
final class Progress {
    enum State { PROBE, REPLICATE }

    long match;
    long next;
    State state = State.PROBE;
    boolean probeSent;
    /** Ticks since the leader last heard from this peer (CheckQuorum). */
    int sinceHeard;
    /** The highest commit index sent to this peer (on an append, a reset or a notice); only decides whether a notice is due. */
    long commitSent;
    private final ArrayDeque<long[]> inflight = new ArrayDeque<>(); // {lastIndex, bytes}
    private long inflightBytes;

    Progress(long next) {
        this.next = next;
    }

    boolean isPaused(RaftConfig cfg) {
        return switch (state) {
            case PROBE -> probeSent;
            case REPLICATE -> inflight.size() >= cfg.maxInflightAppends() || inflightBytes >= cfg.maxInflightBytes();
        };
    }

    void becomeProbe() {
        state = State.PROBE;
        probeSent = false;
        next = match + 1;
        clearInflight();
    }

    void becomeReplicate() {
        state = State.REPLICATE;
        probeSent = false;
        next = match + 1;
        clearInflight();
    }

    private void clearInflight() {
        inflight.clear();
        inflightBytes = 0;
    }

    /** Records an AppendEntries carrying entries up to {@code last} ({@code bytes} bytes). */
    void sent(long last, int count, int bytes) {
        if (state == State.REPLICATE) {
            if (count > 0) {
                next = last + 1;
                inflight.addLast(new long[] {last, bytes});
                inflightBytes += bytes;
            }
        } else {
            probeSent = true;
        }
    }

    /** An acknowledgement that the follower matches through {@code n}. Returns true if match grew. */
    boolean maybeUpdate(long n) {
        boolean updated = false;
        if (match < n) {
            match = n;
            updated = true;
            probeSent = false;
        }
        next = Math.max(next, n + 1);
        while (!inflight.isEmpty() && inflight.peekFirst()[0] <= n) {
            inflightBytes -= inflight.removeFirst()[1];
        }
        return updated;
    }

    /** Frees one slot when a heartbeat reply arrives while the pipeline is full (a lost append must not block forever). */
    void freeFirstInflight() {
        if (!inflight.isEmpty()) {
            inflightBytes -= inflight.removeFirst()[1];
        }
    }

    /** True while an append sent in REPLICATE state awaits its acknowledgement. */
    boolean hasInflight() {
        return !inflight.isEmpty();
    }

    boolean inflightFull(RaftConfig cfg) {
        return state == State.REPLICATE && isPaused(cfg);
    }

    /**
     * A rejection of the append with prevIndex {@code rejected}; {@code probeTo} is the highest
     * index that may still match. Returns false for a stale rejection.
     */
    boolean maybeDecrTo(long rejected, long probeTo) {
        if (state == State.REPLICATE) {
            if (rejected <= match) {
                return false; // stale: we already know it matches there
            }
            next = match + 1;
            return true;
        }
        if (next - 1 != rejected) {
            return false; // stale: not the probe we are waiting for
        }
        next = Math.max(Math.min(rejected, probeTo + 1), match + 1);
        probeSent = false;
        return true;
    }

    @Override
    public String toString() {
        return state + "{match=" + match + " next=" + next + (probeSent ? " paused" : "") + " inflight=" + inflight.size() + "}";
    }
}
