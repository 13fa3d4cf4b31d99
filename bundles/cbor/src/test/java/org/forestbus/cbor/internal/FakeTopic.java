package org.forestbus.cbor.internal;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NotLeaderException;
import org.forestbus.api.ReadResult;
import org.forestbus.api.Role;
import org.forestbus.api.ShuttingDownException;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;

/**
 * In-memory {@link TopicService}: ids from {@code firstIndex}, a commit index that follows the
 * last index ({@link #autoCommit}) or is moved by {@link #commit(long)}, long polls woken by
 * commits, expired by a timer or dropped when their future is cancelled, leader/shutdown switches.
 */
final class FakeTopic implements TopicService {

    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-topic-timer");
        t.setDaemon(true);
        return t;
    });

    private record Poll(long from, int max, CompletableFuture<ReadResult> future) {
    }

    private record CommitWait(long index, long[] ids, CompletableFuture<long[]> future) {
    }

    private final String name;
    private final List<byte[]> log = new ArrayList<>();
    private final List<Poll> polls = new ArrayList<>();
    private final List<CommitWait> commitWaits = new ArrayList<>();
    private long firstIndex = 1;
    private long commitIndex;
    private boolean autoCommit = true;
    private boolean leader = true;
    private String leaderName;
    private boolean shuttingDown;

    FakeTopic(String name) {
        this.name = name;
    }

    synchronized FakeTopic autoCommit(boolean on) {
        autoCommit = on;
        return this;
    }

    /** Becomes a follower of {@code leaderNodeName} (null = no leader known). */
    synchronized FakeTopic follower(String leaderNodeName) {
        leader = false;
        leaderName = leaderNodeName;
        return this;
    }

    synchronized FakeTopic shutDown() {
        shuttingDown = true;
        for (Poll p : polls) {
            p.future().completeExceptionally(new ShuttingDownException("topic " + name));
        }
        polls.clear();
        return this;
    }

    /** Pretends messages below {@code first} were cleaned up (the log must be empty). */
    synchronized FakeTopic firstIndex(long first) {
        firstIndex = first;
        return this;
    }

    /** Appends {@code n} messages "m&lt;index&gt;" without committing them. */
    synchronized FakeTopic fill(int n) {
        for (int i = 0; i < n; i++) {
            log.add(("m" + (firstIndex + log.size())).getBytes());
        }
        return this;
    }

    synchronized FakeTopic commit(long index) {
        commitIndex = Math.min(index, lastIndex());
        wake();
        return this;
    }

    synchronized int pendingPolls() {
        return polls.size();
    }

    synchronized List<byte[]> messages() {
        return List.copyOf(log);
    }

    private long lastIndex() {
        return firstIndex + log.size() - 1;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public synchronized CompletableFuture<long[]> send(MessageBatch batch, boolean waitForCommit) {
        if (shuttingDown) {
            return CompletableFuture.failedFuture(new ShuttingDownException("topic " + name));
        }
        if (!leader) {
            return CompletableFuture.failedFuture(new NotLeaderException(name, leaderName));
        }
        batch.verifyChecksums();
        long[] ids = new long[batch.count()];
        int i = 0;
        for (byte[] p : batch.payloadArrays()) {
            log.add(p);
            ids[i++] = lastIndex();
        }
        CompletableFuture<long[]> f = new CompletableFuture<>();
        if (autoCommit) {
            commitIndex = lastIndex();
        }
        if (waitForCommit && commitIndex < lastIndex()) {
            commitWaits.add(new CommitWait(lastIndex(), ids, f));
        } else {
            f.complete(ids);
        }
        wake();
        return f;
    }

    @Override
    public synchronized CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis) {
        if (shuttingDown) {
            return CompletableFuture.failedFuture(new ShuttingDownException("topic " + name));
        }
        long from = Math.max(fromIndex, firstIndex);
        if (from <= commitIndex || waitMillis <= 0) {
            return CompletableFuture.completedFuture(result(from, maxMessages));
        }
        CompletableFuture<ReadResult> f = new CompletableFuture<>();
        Poll p = new Poll(from, maxMessages, f);
        polls.add(p);
        f.whenComplete((r, e) -> {
            if (f.isCancelled()) { // the caller gave up: the poll is no longer parked
                synchronized (FakeTopic.this) {
                    polls.remove(p);
                }
            }
        });
        TIMER.schedule(() -> {
            synchronized (FakeTopic.this) {
                if (polls.remove(p)) {
                    f.complete(result(from, maxMessages));
                }
            }
        }, waitMillis, TimeUnit.MILLISECONDS);
        return f;
    }

    @Override
    public synchronized TopicStatus status() {
        if (shuttingDown) {
            throw new ShuttingDownException("topic " + name);
        }
        return new TopicStatus(name, firstIndex, lastIndex(), commitIndex, 1,
                leader ? Role.LEADER : Role.FOLLOWER, leader ? "self" : leaderName);
    }

    private ReadResult result(long from, int max) {
        List<byte[]> out = new ArrayList<>();
        for (long i = from; i <= commitIndex && out.size() < max; i++) {
            out.add(log.get((int) (i - firstIndex)));
        }
        MessageBatch b = out.isEmpty() ? MessageBatch.empty() : MessageBatch.of(out);
        return new ReadResult(b, from, from + out.size(), commitIndex);
    }

    private void wake() {
        for (Iterator<Poll> it = polls.iterator(); it.hasNext(); ) {
            Poll p = it.next();
            if (p.from() <= commitIndex) {
                it.remove();
                p.future().complete(result(p.from(), p.max()));
            }
        }
        for (Iterator<CommitWait> it = commitWaits.iterator(); it.hasNext(); ) {
            CommitWait w = it.next();
            if (w.index() <= commitIndex) {
                it.remove();
                w.future().complete(w.ids());
            }
        }
    }
}
