package org.forestbus.http.internal;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;

/**
 * In-memory topic: every sent message is committed at once (ids from 1); reads beyond the
 * commit index park until a send or until their wait elapses on the shared timer.
 */
final class FakeTopic implements TopicService {

    private final String name;
    private final ScheduledExecutorService timer;
    private final List<byte[]> log = new ArrayList<>();
    private final List<Waiter> waiters = new ArrayList<>();
    /** When set, send and read fail with this. */
    final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    volatile Role role = Role.LEADER;
    volatile String leader;
    /** When true, sends are stored but their futures wait for {@link #releaseHeld()}. */
    volatile boolean holdSends;
    private final List<CompletableFuture<long[]>> held = new ArrayList<>();
    private final List<long[]> heldIds = new ArrayList<>();
    volatile Boolean lastWaitForCommit;
    volatile int lastMaxMessages;
    volatile long lastWaitMillis;

    private record Waiter(long from, int max, int maxBytes, CompletableFuture<ReadResult> future) {
    }

    FakeTopic(String name, String leader, ScheduledExecutorService timer) {
        this.name = name;
        this.leader = leader;
        this.timer = timer;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public CompletableFuture<long[]> send(MessageBatch batch, boolean waitForCommit) {
        lastWaitForCommit = waitForCommit;
        RuntimeException f = failure.get();
        if (f != null) {
            return CompletableFuture.failedFuture(f);
        }
        List<byte[]> payloads = batch.payloadArrays();
        long[] ids = new long[payloads.size()];
        List<Waiter> wake;
        synchronized (this) {
            for (int i = 0; i < ids.length; i++) {
                log.add(payloads.get(i));
                ids[i] = log.size();
            }
            wake = new ArrayList<>();
            for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
                Waiter w = it.next();
                if (w.from <= log.size()) {
                    it.remove();
                    wake.add(w);
                }
            }
        }
        for (Waiter w : wake) {
            w.future.complete(readNow(w.from, w.max, w.maxBytes));
        }
        if (holdSends) {
            synchronized (this) {
                CompletableFuture<long[]> pending = new CompletableFuture<>();
                held.add(pending);
                heldIds.add(ids);
                return pending;
            }
        }
        return CompletableFuture.completedFuture(ids);
    }

    // membership: a leader with voters n1..n3; changes apply at once, or fail with `failure`
    final List<String> voters = new ArrayList<>(List.of("n1", "n2", "n3"));
    final List<String> learners = new ArrayList<>();
    volatile String transferredTo;

    @Override
    public synchronized TopicMembers members() {
        return new TopicMembers(voters, learners, 7, java.util.Map.of("n2", 5L, "n3", (long) log.size()));
    }

    @Override
    public synchronized CompletableFuture<TopicMembers> changeMembers(TopicMembers.Change change, String node) {
        RuntimeException f = failure.get();
        if (f != null) {
            return CompletableFuture.failedFuture(f);
        }
        switch (change) {
            case ADD_LEARNER -> learners.add(node);
            case PROMOTE -> {
                learners.remove(node);
                voters.add(node);
            }
            case REMOVE -> {
                voters.remove(node);
                learners.remove(node);
            }
        }
        return CompletableFuture.completedFuture(members());
    }

    @Override
    public CompletableFuture<Void> transferLeadership(String node) {
        RuntimeException f = failure.get();
        if (f != null) {
            return CompletableFuture.failedFuture(f);
        }
        transferredTo = node;
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis) {
        lastMaxMessages = maxMessages;
        lastWaitMillis = waitMillis;
        RuntimeException f = failure.get();
        if (f != null) {
            return CompletableFuture.failedFuture(f);
        }
        long from = Math.max(1, fromIndex);
        synchronized (this) {
            if (from <= log.size() || waitMillis == 0) {
                return CompletableFuture.completedFuture(readNow(from, maxMessages, maxBytes));
            }
            Waiter w = new Waiter(from, maxMessages, maxBytes, new CompletableFuture<>());
            waiters.add(w);
            timer.schedule(() -> {
                synchronized (this) {
                    waiters.remove(w);
                }
                w.future.complete(readNow(w.from, w.max, w.maxBytes));
            }, waitMillis, TimeUnit.MILLISECONDS);
            return w.future;
        }
    }

    private synchronized ReadResult readNow(long from, int max, int maxBytes) {
        List<byte[]> out = new ArrayList<>();
        long bytes = 0;
        for (long i = from; i <= log.size() && out.size() < max; i++) {
            byte[] p = log.get((int) i - 1);
            if (!out.isEmpty() && bytes + p.length > maxBytes) {
                break;
            }
            out.add(p);
            bytes += p.length;
        }
        MessageBatch b = out.isEmpty() ? MessageBatch.empty() : MessageBatch.of(out);
        return new ReadResult(b, from, from + out.size(), log.size());
    }

    synchronized int heldSends() {
        return held.size();
    }

    /** Acknowledges every held send. */
    void releaseHeld() {
        List<CompletableFuture<long[]>> fs;
        List<long[]> ids;
        synchronized (this) {
            fs = new ArrayList<>(held);
            ids = new ArrayList<>(heldIds);
            held.clear();
            heldIds.clear();
        }
        for (int i = 0; i < fs.size(); i++) {
            fs.get(i).complete(ids.get(i));
        }
    }

    synchronized int size() {
        return log.size();
    }

    synchronized int waiting() {
        return waiters.size();
    }

    @Override
    public TopicStatus status() {
        RuntimeException f = failure.get();
        if (f instanceof ForestBusException) {
            throw f;
        }
        synchronized (this) {
            return new TopicStatus(name, 1, log.size(), log.size(), 3, role, leader);
        }
    }
}
