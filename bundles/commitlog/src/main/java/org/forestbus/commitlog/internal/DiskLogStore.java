package org.forestbus.commitlog.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.CorruptLogException;
import org.forestbus.api.storage.HardState;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.StorageException;
import org.forestbus.api.storage.SyncPolicy;
import org.forestbus.commitlog.internal.DurableFiles.Checkpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One topic's log on disk: segment files of bare v0 records (the original's format and names),
 * a hard-state file and a sync checkpoint, all under {@code <data.dir>/<topic>/}.
 *
 * <p>Durability. {@link SyncPolicy#FSYNC}: group commit. {@link #append} only writes; {@link #sync}
 * registers a waiter for everything written so far and makes sure one fsync round is queued on
 * the shared executor. A round captures the written index and the segments written since the
 * previous round, forces them (and the directory after a segment was created), then completes
 * every waiter it covers. Waiters arriving during a round are served by the next one; at most one
 * round per log is queued or running. Any write/fsync failure puts the log in the failed state:
 * pending and later sync futures fail, writes throw; nothing is retried (a failed fsync may have
 * dropped dirty pages, so a retry that succeeds proves nothing). {@link SyncPolicy#INTERVAL}
 * forces on a timer and acknowledges {@link #sync} at once (before durable); {@link SyncPolicy#NONE}
 * never forces until close (UNSAFE).
 *
 * <p>Rounds run back to back on one executor thread while waiters remain, with a short bounded
 * commit delay (at most 100 µs, a quarter of the last force) so that writers acknowledged by one
 * round can join the next, used only while such delays actually catch writers
 * ({@link GatherPolicy}). The active segment is preallocated with zeros ahead of the write
 * position so most fsyncs overwrite allocated blocks (fdatasync without a journal commit or inode
 * update); the zeros are cut off at roll, close and recovery, so closed segments hold records only.
 * Zero-filling runs ahead of the writer on the sync executor, in chunks growing from 64 KiB to
 * {@link #MAX_PREALLOC_CHUNK} (a writer that catches up fills for itself): writing megabytes of
 * zeros on the writer's thread stalled every producer for milliseconds, and a chunk's dirty zeros
 * are flushed by the next round, so small chunks keep that extra fsync work small.
 * Consequence of the v0 format: an all-zero record (empty payload, term 0) at the very end of the
 * unsynced tail is indistinguishable from preallocated zeros and is dropped by recovery; Raft
 * never writes term 0, so this cannot lose an acknowledged Raft entry.
 *
 * <p>Sync checkpoint: after a round (at most once per second, and whenever the newest synced
 * segment changed) the pair (segment, synced byte length, CRC-32C of those bytes) is atomically
 * rewritten. On open, bytes below it must validate exactly (corruption there refuses to open);
 * bytes above it are a tail that is truncated at the first invalid record.
 *
 * <p>Invariants: segment names chain (each segment's first index = previous first + count);
 * every segment older than the checkpoint's segment is durable; {@code durable <= written};
 * readers only read below a segment's published {@code dataEnd}.
 *
 * <p>Warm and cold segments. A segment with an open file and a sparse index (16 bytes per 4 KiB
 * of records) is warm. Closed segments found at open are cold until first read, which opens and
 * scans them (validating every checksum); the active segment and the one before it are always
 * warm. Of the older ones at most {@link #MAX_WARM_OLD_SEGMENTS} stay warm: after a roll or a
 * cold segment's warm-up, a task on the sync executor releases the least recently read ones
 * beyond that (file closed, index dropped), returning them to the state they had at open. So
 * open files and index heap per topic stay bounded however much of the log is kept or replayed.
 *
 * <p>Locks, in order: {@code structure} (write: roll publication, truncate, reset, retention,
 * cold-segment release, close; read: reads and term lookups) → {@code fsyncMutex} (one fsync round / durable operation
 * at a time; guards {@link #lastCk}) → {@code syncLock} (short: written/durable/dirty/waiters).
 * Completed sync futures run their dependent stages on the fsync executor thread: callers must
 * chain heavy work with the *Async variants.
 */
final class DiskLogStore implements LogStore {

    private static final Logger LOG = LoggerFactory.getLogger(DiskLogStore.class);
    static final long CHECKPOINT_INTERVAL_MILLIS = 1000;
    private static final int MAX_READ_WINDOW = 16 << 20;
    /**
     * Segments older than the last two that may stay warm (open file, sparse index): room for
     * several consumers reading old parts of the log at once without rescanning segments.
     */
    static final int MAX_WARM_OLD_SEGMENTS = 8;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20);

    private record Waiter(long target, CompletableFuture<Long> future) {
    }

    /** Last index and its term (-1 = not known yet), published together. */
    private record Last(long index, long term) {
    }

    private final String topic;
    private final Path dir;
    private final FileSystemOps fs;
    private final Clock clock;
    private final LogConfig config;
    private final SyncPolicy policy;
    private final Executor syncExecutor;
    private final Runnable onClose;
    private final long preallocChunk;

    private final ReentrantReadWriteLock structure = new ReentrantReadWriteLock();
    private final ReentrantLock fsyncMutex = new ReentrantLock();
    private final Object syncLock = new Object();
    /**
     * Guards zero-filling: {@link #fillTarget}, {@link #fillScheduled}, and every change of a
     * segment's {@code allocated} end or of its file length beyond its data. A leaf lock: nothing
     * else is acquired while it is held.
     */
    private final Object fillLock = new Object();
    /** The segment a background fill may extend (the active one); null while it is being retired. */
    private Segment fillTarget;
    private boolean fillScheduled;
    /** Largest zero-fill chunk: its zeros are flushed by the round after it. */
    static final long MAX_PREALLOC_CHUNK = 1 << 20;

    private volatile List<Segment> segments; // immutable snapshot, replaced under the structure write lock
    private volatile long firstIndex;
    private final AtomicReference<Last> last = new AtomicReference<>();
    private volatile HardState hardState;
    /**
     * Terms of the messages appended since open, as runs (first index of a run → its term), so
     * that termAt (asked by Raft for every commit decision and answered client) does not read
     * the disk. Covers [termRunsFrom, lastIndex]; older indexes are read from the segment.
     */
    private final java.util.concurrent.ConcurrentSkipListMap<Long, Long> termRuns =
            new java.util.concurrent.ConcurrentSkipListMap<>();
    private volatile long termRunsFrom = Long.MAX_VALUE;
    private volatile byte[] membershipRecord;
    private volatile long durable;
    private volatile StorageException failure;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile ScheduledFuture<?> intervalTask;
    private final java.util.concurrent.atomic.AtomicBoolean releaseQueued = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean opened; // recovery done: background work may look at the segments

    // writer only
    private Segment active;
    private final CRC32C activeCrc = new CRC32C(); // CRC-32C of the active segment's bytes [0, dataEnd)

    // guarded by syncLock
    private long written;
    private final List<Segment> dirty = new ArrayList<>();
    private boolean dirDirty;
    private Segment ckSeg;
    private long ckEnd;
    private int ckCrc;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private boolean roundScheduled;

    // guarded by fsyncMutex
    private long fsyncRounds;
    private Checkpoint lastCk;
    private long lastCkMillis;

    DiskLogStore(String topic, Path dir, LogConfig config, SyncPolicy policy, long intervalMillis,
                 FileSystemOps fs, Clock clock, Executor syncExecutor, ScheduledExecutorService timer,
                 Runnable onClose) {
        this.topic = topic;
        this.dir = dir;
        this.config = config;
        this.policy = policy;
        this.fs = fs;
        this.clock = clock;
        this.syncExecutor = syncExecutor;
        this.onClose = onClose;
        this.preallocChunk = Math.max(4096, Math.min(MAX_PREALLOC_CHUNK, config.segmentBytes() / 16));
        try {
            recover();
        } catch (IOException e) {
            closeFiles();
            throw new StorageException(topic + ": cannot open log in " + dir + ": " + e, e);
        } catch (RuntimeException e) {
            closeFiles();
            throw e;
        }
        opened = true;
        if (policy == SyncPolicy.INTERVAL && timer != null) {
            intervalTask = timer.scheduleWithFixedDelay(this::intervalTick, intervalMillis, intervalMillis,
                    TimeUnit.MILLISECONDS);
        }
    }

    // ------------------------------------------------------------------ recovery

    private void recover() throws IOException {
        if (!fs.exists(dir)) {
            fs.createDirectories(dir);
            if (dir.getParent() != null) {
                fs.syncDirectory(dir.getParent()); // the new topic directory's entry itself must be durable
            }
        }
        for (String n : fs.list(dir)) {
            if (n.endsWith(DurableFiles.TMP)) {
                fs.delete(dir.resolve(n)); // an interrupted atomic replace; the old file is intact
            }
        }
        hardState = DurableFiles.loadHardState(fs, dir);
        membershipRecord = DurableFiles.loadMembership(fs, dir);
        Checkpoint ck = DurableFiles.loadCheckpoint(fs, dir);
        TreeMap<Long, Segment> found = new TreeMap<>();
        for (String n : fs.list(dir)) {
            long first = Segment.parse(n);
            if (first >= 1) {
                found.put(first, new Segment(dir, first));
            }
        }
        List<Segment> segs = new ArrayList<>(found.values());
        if (segs.isEmpty()) {
            // A new topic, or a crash inside resetTo after its checkpoint named the new start.
            Segment s = new Segment(dir, ck != null ? ck.segmentFirst() : 1);
            s.file = fs.open(s.path, true);
            s.indexed = true;
            s.lastWriteMillis = clock.millis();
            fs.syncDirectory(dir);
            install(segs, s, false, -1);
            saveCheckpoint(new Checkpoint(s.first, 0, 0));
            return;
        }
        int from = segs.size() - 1; // without a checkpoint (original data dir) only the newest segment is tail
        long strictEnd = 0;
        boolean checkCrc = false;
        if (ck != null) {
            int i = indexOf(segs, ck.segmentFirst());
            if (i >= 0) {
                from = i;
                strictEnd = ck.syncedBytes();
                checkCrc = true;
            } else if (ck.syncedBytes() > 0) {
                throw new CorruptLogException(dir.resolve(Segment.name(ck.segmentFirst())).toString(),
                        ck.syncedBytes(), "segment holding synced data is missing");
            } else {
                // resetTo was interrupted after naming its new start: no segment is known synced, all are tail
                from = 0;
            }
        }
        for (int i = 0; i < from; i++) { // closed, synced segments: validated lazily when first read
            Segment s = segs.get(i);
            s.count = segs.get(i + 1).first - s.first;
            s.dataEnd = fs.size(s.path);
            s.allocated = s.dataEnd;
            s.lastWriteMillis = fs.lastModifiedMillis(s.path);
        }
        int keep = segs.size();
        long lastTerm = -1;
        int crc = 0;
        for (int i = from; i < segs.size(); i++) {
            Segment s = segs.get(i);
            if (i > from) {
                Segment prev = segs.get(i - 1);
                if (s.first != prev.first + prev.count) {
                    LOG.warn("{}: segment {} does not follow {} ({} records) after a torn tail; deleting it and later segments",
                            topic, s, prev, prev.count);
                    keep = i;
                    break;
                }
            }
            s.file = fs.open(s.path, false);
            SegmentScanner.Result r = SegmentScanner.scan(s.file, s.path.toString(), i == from ? strictEnd : 0,
                    i == from && checkCrc, ck == null ? 0 : ck.prefixCrc(), s.index, activeCrc);
            if (r.tornTail) {
                LOG.warn("{}: truncating {} at byte {} (of {}): {}", topic, s, r.dataEnd, s.file.size(), r.tailReason);
            }
            if (s.file.size() != r.dataEnd) {
                s.file.truncate(r.dataEnd);
            }
            s.dataEnd = r.dataEnd;
            s.allocated = r.dataEnd;
            s.count = r.count;
            s.indexed = true;
            s.lastWriteMillis = fs.lastModifiedMillis(s.path);
            lastTerm = r.count > 0 ? r.lastTerm : -1;
            crc = r.prefixCrc;
        }
        for (int i = segs.size() - 1; i >= keep; i--) {
            Segment s = segs.remove(i);
            closeQuietly(s);
            fs.delete(s.path);
        }
        Segment act = segs.remove(segs.size() - 1);
        for (int i = from; i < segs.size(); i++) {
            segs.get(i).file.force();
        }
        act.file.force();
        fs.syncDirectory(dir);
        install(segs, act, true, lastTerm);
        // The recovered bytes are forced now, so the checkpoint may cover all of them.
        saveCheckpoint(new Checkpoint(act.first, act.dataEnd, crc));
    }

    /**
     * Publishes {@code closedSegs} + {@code act} as the whole log, everything durable.
     * {@code activeCrcValid}: {@link #activeCrc} already holds the CRC-32C of the active segment's bytes.
     */
    private void install(List<Segment> closedSegs, Segment act, boolean activeCrcValid, long lastTerm) throws IOException {
        List<Segment> all = new ArrayList<>(closedSegs);
        all.add(act);
        if (act.file == null) {
            act.file = fs.open(act.path, false);
        }
        active = act;
        synchronized (fillLock) {
            fillTarget = act;
        }
        if (!activeCrcValid) {
            activeCrc.reset();
            SegmentScanner.prefixCrc(act.file, act.dataEnd, activeCrc);
        }
        segments = List.copyOf(all);
        firstIndex = all.get(0).first;
        long lastIdx = act.first + act.count - 1;
        termRuns.clear();
        termRunsFrom = lastIdx + 1;
        last.set(new Last(lastIdx, act.count > 0 ? lastTerm : -1));
        synchronized (syncLock) {
            written = lastIdx;
            durable = lastIdx;
            for (Segment s : dirty) {
                s.dirty = false;
            }
            dirty.clear();
            dirDirty = false;
            ckSeg = act;
            ckEnd = act.dataEnd;
            ckCrc = (int) activeCrc.getValue();
        }
    }

    private static int indexOf(List<Segment> segs, long first) {
        for (int i = 0; i < segs.size(); i++) {
            if (segs.get(i).first == first) {
                return i;
            }
        }
        return -1;
    }

    /** Scans a closed segment on first use: structure, checksums, record count vs the next segment's name. */
    private void ensureIndexed(Segment s) throws IOException {
        if (s.indexed) {
            return;
        }
        synchronized (s) {
            if (s.indexed) {
                return;
            }
            if (s.file == null) {
                s.file = fs.open(s.path, false);
            }
            SegmentScanner.Result r = SegmentScanner.scan(s.file, s.path.toString(), Long.MAX_VALUE, false, 0, s.index,
                    new CRC32C());
            if (r.count != s.count) {
                throw new CorruptLogException(s.path.toString(), r.dataEnd, "segment holds " + r.count
                        + " records but the next segment starts at index " + (s.first + s.count));
            }
            s.dataEnd = r.dataEnd;
            s.indexed = true;
        }
        queueColdRelease();
    }

    // ------------------------------------------------------------------ reads

    @Override
    public String topic() {
        return topic;
    }

    @Override
    public long firstIndex() {
        return firstIndex;
    }

    @Override
    public long lastIndex() {
        return last.get().index();
    }

    @Override
    public long durableIndex() {
        return policy == SyncPolicy.FSYNC ? durable : lastIndex();
    }

    @Override
    public long termAt(long index) {
        if (index == 0) {
            return 0;
        }
        Last l = last.get();
        if (index == l.index() && l.term() >= 0) {
            return l.term();
        }
        if (index >= termRunsFrom && index <= l.index()) {
            Map.Entry<Long, Long> run = termRuns.floorEntry(index);
            if (run != null) {
                return run.getValue(); // appended since open: no disk read
            }
        }
        structure.readLock().lock();
        try {
            checkNotClosed();
            if (index < firstIndex || index > lastIndex()) {
                throw new IndexOutOfBoundsException("index " + index + " not stored in " + topic
                        + " [" + firstIndex + ", " + lastIndex() + "]");
            }
            Segment s = floor(segments, index);
            s.lastUsedNanos = System.nanoTime();
            ensureIndexed(s);
            long count = s.count;
            long end = s.dataEnd;
            long pos = locate(s, index - s.first, count, end);
            ByteBuffer h = ByteBuffer.allocate(MessageBatch.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            if (s.file.readFully(h, pos) < MessageBatch.HEADER_SIZE) {
                throw new CorruptLogException(s.path.toString(), pos, "partial header");
            }
            long term = h.getLong(5);
            if (index == l.index()) {
                last.compareAndSet(l, new Last(l.index(), term));
            }
            return term;
        } catch (IOException e) {
            throw new StorageException(topic + ": read failed: " + e, e);
        } finally {
            structure.readLock().unlock();
        }
    }

    @Override
    public MessageBatch read(long fromIndex, int maxMessages, int maxBytes) {
        if (maxMessages < 1) {
            return MessageBatch.empty();
        }
        structure.readLock().lock();
        try {
            checkNotClosed();
            if (fromIndex < firstIndex || fromIndex > lastIndex()) {
                return MessageBatch.empty();
            }
            Segment s = floor(segments, fromIndex);
            s.lastUsedNanos = System.nanoTime();
            ensureIndexed(s);
            long count = s.count; // count before dataEnd: the writer publishes dataEnd first
            long end = s.dataEnd;
            long rel = fromIndex - s.first;
            if (rel >= count) {
                return MessageBatch.empty();
            }
            long pos = locate(s, rel, count, end);
            long avg = Math.max(MessageBatch.HEADER_SIZE, end / Math.max(1, count));
            long estimate = Math.min((long) maxMessages * avg + avg, Math.max(maxBytes, 0));
            int want = (int) Math.min(end - pos, Math.min(MAX_READ_WINDOW, Math.max(estimate, 4096)));
            ByteBuffer buf = readAt(s, pos, want);
            int firstLen = recordLength(s, buf, 0, pos);
            if (firstLen > buf.limit()) {
                if (pos + firstLen > end) {
                    throw new CorruptLogException(s.path.toString(), pos, "record runs past the segment's end");
                }
                buf = readAt(s, pos, firstLen);
            }
            CRC32 crc = new CRC32();
            int off = 0;
            int n = 0;
            int limit = buf.limit();
            while (n < maxMessages && rel + n < count && off + MessageBatch.HEADER_SIZE <= limit) {
                int rl = recordLength(s, buf, off, pos + off);
                if (off + rl > limit || (n > 0 && (long) off + rl > maxBytes)) {
                    break;
                }
                crc.reset();
                crc.update(buf.slice(off + MessageBatch.HEADER_SIZE, rl - MessageBatch.HEADER_SIZE));
                if ((int) crc.getValue() != buf.getInt(off + 13)) {
                    throw new CorruptLogException(s.path.toString(), pos + off, "checksum mismatch");
                }
                off += rl;
                n++;
            }
            buf.position(0).limit(off);
            return MessageBatch.wrapTrusted(buf, n);
        } catch (IOException e) {
            throw new StorageException(topic + ": read failed: " + e, e);
        } finally {
            structure.readLock().unlock();
        }
    }

    private static int recordLength(Segment s, ByteBuffer buf, int off, long filePos) {
        byte v = buf.get(off);
        int len = buf.getInt(off + 1);
        if (v != MessageBatch.FORMAT_VERSION || len < 0 || len > MessageBatch.MAX_PAYLOAD_BYTES) {
            throw new CorruptLogException(s.path.toString(), filePos, "bad record header (version " + v
                    + ", length " + len + ")");
        }
        return MessageBatch.HEADER_SIZE + len;
    }

    private static ByteBuffer readAt(Segment s, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        int n = s.file.readFully(b, pos);
        if (n < len) {
            throw new CorruptLogException(s.path.toString(), pos + n, "file ends before its records");
        }
        b.flip();
        return b;
    }

    /** Byte position of local record {@code rel}: nearest sparse-index entry, then walk headers. */
    private static long locate(Segment s, long rel, long count, long end) throws IOException {
        long[] e = s.index.floor(rel);
        long r = e[0];
        long p = e[1];
        ByteBuffer w = ByteBuffer.allocate(2 * SparseIndex.INTERVAL_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long wStart = 0;
        w.limit(0);
        while (r < rel) {
            if (p + MessageBatch.HEADER_SIZE > wStart + w.limit()) {
                wStart = p;
                w.clear();
                w.limit((int) Math.min(w.capacity(), end - p));
                s.file.readFully(w, p);
                w.flip();
                if (w.limit() < MessageBatch.HEADER_SIZE) {
                    throw new CorruptLogException(s.path.toString(), p, "partial header");
                }
            }
            p += recordLength(s, w, (int) (p - wStart), p);
            r++;
            if (p >= end) {
                throw new CorruptLogException(s.path.toString(), p, "record " + (s.first + r)
                        + " lies past the segment's end (" + count + " records)");
            }
        }
        return p;
    }

    private static Segment floor(List<Segment> segs, long index) {
        int lo = 0;
        int hi = segs.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (segs.get(mid).first <= index) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return segs.get(lo);
    }

    @Override
    public HardState hardState() {
        return hardState;
    }

    @Override
    public LogStats stats() {
        List<Segment> segs = segments;
        long bytes = 0;
        for (Segment s : segs) {
            bytes += s.dataEnd;
        }
        return new LogStats(segs.size(), bytes);
    }

    // ------------------------------------------------------------------ writes

    @Override
    public long append(MessageBatch batch) {
        checkWritable();
        if (batch.isEmpty()) {
            return lastIndex();
        }
        Segment s = active;
        ByteBuffer buf = batch.buffer();
        int len = buf.remaining();
        long pos;
        try {
            if (s.dataEnd >= config.segmentBytes() && s.count > 0) {
                s = roll();
            }
            pos = s.dataEnd;
            preallocate(s, pos + len);
            s.file.write(buf, pos);
        } catch (IOException e) {
            throw fail("append to " + s + " failed", e);
        }
        int n = batch.count();
        long rel = s.count;
        ByteBuffer b = batch.buffer();
        int off = 0;
        long firstNew = last.get().index() + 1; // single writer: nobody else appends meanwhile
        for (int i = 0; i < n; i++) {
            s.index.offer(rel + i, pos + off);
            long term = b.getLong(off + 5);
            Map.Entry<Long, Long> run = termRuns.lastEntry();
            if (run == null || run.getValue() != term) {
                termRuns.put(firstNew + i, term); // published before lastIndex() covers it
            }
            off += MessageBatch.HEADER_SIZE + b.getInt(off + 1);
        }
        activeCrc.update(batch.buffer());
        int crcNow = (int) activeCrc.getValue();
        s.lastWriteMillis = clock.millis();
        long newLast;
        synchronized (syncLock) {
            s.dataEnd = pos + len;
            s.count = rel + n;
            newLast = written + n;
            written = newLast;
            last.set(new Last(newLast, batch.lastTerm()));
            ckSeg = s;
            ckEnd = pos + len;
            ckCrc = crcNow;
            if (!s.dirty) {
                s.dirty = true;
                dirty.add(s);
            }
        }
        return newLast;
    }

    /**
     * Makes sure {@code [dataEnd, end)} of the active segment lies in zero-filled space (so most
     * fsyncs overwrite allocated blocks: fdatasync without metadata) and asks for the next chunk
     * in the background once less than a chunk is left. Fills for itself only when the writer
     * has caught up with the background (waiting out a fill in progress).
     */
    private void preallocate(Segment s, long end) throws IOException {
        if (end > s.allocated) {
            synchronized (fillLock) {
                if (end > s.allocated) {
                    long target = end + fillChunk(s);
                    writeZeros(s, end, target); // [dataEnd, end) is about to hold the records
                    s.allocated = target;
                }
            }
        }
        if (s.allocated - end < fillChunk(s)) {
            fillAheadLater(s);
        }
    }

    /** Grows with the segment (64 KiB, doubling up to preallocChunk): small topics do not zero-fill megabytes they never use. */
    private long fillChunk(Segment s) {
        return Math.max(65536, Math.min(preallocChunk, s.allocated));
    }

    private void fillAheadLater(Segment s) {
        synchronized (fillLock) {
            if (fillScheduled || fillTarget != s) {
                return;
            }
            fillScheduled = true;
        }
        try {
            syncExecutor.execute(() -> fillAhead(s));
        } catch (RejectedExecutionException e) {
            synchronized (fillLock) {
                fillScheduled = false; // shutting down: the writer fills for itself if it must
            }
        }
    }

    /** Background: zero-fills the next chunk after {@code s.allocated}, where the writer never writes without this lock. */
    private void fillAhead(Segment s) {
        synchronized (fillLock) {
            fillScheduled = false;
            if (s != fillTarget || closed || failure != null) {
                return;
            }
            long from = s.allocated;
            long target = from + fillChunk(s);
            try {
                writeZeros(s, from, target);
                s.allocated = target;
            } catch (IOException | RuntimeException e) {
                // not a failure of the log: nothing acknowledged depends on these zeros; a full
                // disk or a broken file shows up (and fails the log) on the writer's next append
                LOG.debug("{}: zero-filling {} ahead failed", topic, s, e);
            }
        }
    }

    private static void writeZeros(Segment s, long from, long to) throws IOException {
        for (long p = from; p < to; ) {
            ByteBuffer z = ZEROS.duplicate();
            z.limit((int) Math.min(z.capacity(), to - p));
            int n = z.remaining();
            s.file.write(z, p); // writes the whole buffer
            p += n;
        }
    }

    private Segment roll() throws IOException {
        Segment old = active;
        Segment s = new Segment(dir, old.first + old.count);
        s.file = fs.open(s.path, true);
        if (s.file.size() != 0) {
            s.file.truncate(0);
        }
        s.indexed = true;
        s.lastWriteMillis = clock.millis();
        synchronized (fillLock) {
            fillTarget = s;
            if (old.allocated > old.dataEnd) {
                old.file.truncate(old.dataEnd); // closed segments hold records only (the original's format)
                old.allocated = old.dataEnd;
            }
        }
        old.lastWriteMillis = clock.millis();
        activeCrc.reset();
        structure.writeLock().lock();
        try {
            List<Segment> all = new ArrayList<>(segments);
            all.add(s);
            segments = List.copyOf(all);
            active = s;
        } finally {
            structure.writeLock().unlock();
        }
        synchronized (syncLock) {
            dirDirty = true;
            if (!old.dirty) {
                old.dirty = true;
                dirty.add(old);
            }
            ckSeg = s;
            ckEnd = 0;
            ckCrc = 0;
        }
        queueColdRelease();
        return s;
    }

    /** Queues {@link #releaseColdSegments} on the sync executor (at most one queued). */
    private void queueColdRelease() {
        if (opened && releaseQueued.compareAndSet(false, true)) {
            try {
                syncExecutor.execute(this::releaseColdSegments);
            } catch (RejectedExecutionException e) {
                releaseQueued.set(false); // shutting down: nothing to release for
            }
        }
    }

    /**
     * Releases the least recently read warm segments older than the last two, beyond
     * {@link #MAX_WARM_OLD_SEGMENTS}. Safe against every other user of a segment's file:
     * readers (structure read lock) and retention/truncation (write lock) are excluded by the
     * write lock, fsync rounds by {@code fsyncMutex}, and a segment still waiting for a round
     * ({@code dirty}) is skipped. The last two segments are never touched: the writer uses the
     * active one, and the one before it is marked dirty only after its roll is published.
     */
    private void releaseColdSegments() {
        releaseQueued.set(false);
        if (countWarmOld(segments) <= MAX_WARM_OLD_SEGMENTS) {
            return; // the common case, without taking a lock
        }
        structure.writeLock().lock();
        fsyncMutex.lock();
        try {
            if (closed) {
                return;
            }
            List<Segment> segs = segments;
            List<Segment> warm = new ArrayList<>();
            synchronized (syncLock) {
                for (int i = 0; i < segs.size() - 2; i++) {
                    Segment s = segs.get(i);
                    if ((s.file != null || s.indexed) && !s.dirty) {
                        warm.add(s);
                    }
                }
            }
            warm.sort(java.util.Comparator.comparingLong((Segment s) -> s.lastUsedNanos));
            for (int i = 0; i < warm.size() - MAX_WARM_OLD_SEGMENTS; i++) {
                Segment s = warm.get(i);
                closeQuietly(s);
                s.file = null;
                s.index.clear();
                s.indexed = false; // the next read reopens and rescans it, checksums included
            }
        } finally {
            fsyncMutex.unlock();
            structure.writeLock().unlock();
        }
    }

    private static int countWarmOld(List<Segment> segs) {
        int n = 0;
        for (int i = 0; i < segs.size() - 2; i++) {
            Segment s = segs.get(i);
            if (s.file != null || s.indexed) {
                n++;
            }
        }
        return n;
    }

    /** Segments with an open file (for tests and diagnostics). */
    int openSegmentFiles() {
        int n = 0;
        for (Segment s : segments) {
            if (s.file != null) {
                n++;
            }
        }
        return n;
    }

    @Override
    public CompletableFuture<Long> sync() {
        StorageException f = failure;
        if (f != null) {
            return CompletableFuture.failedFuture(f);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new StorageException(topic + ": log is closed"));
        }
        if (policy != SyncPolicy.FSYNC) {
            return CompletableFuture.completedFuture(lastIndex());
        }
        CompletableFuture<Long> future;
        synchronized (syncLock) {
            if (failure != null) {
                return CompletableFuture.failedFuture(failure);
            }
            if (durable >= written) {
                return CompletableFuture.completedFuture(durable);
            }
            future = new CompletableFuture<>();
            waiters.add(new Waiter(written, future));
            if (roundScheduled) {
                if (gatherThread != null && waiters.size() >= gatherTarget) {
                    LockSupport.unpark(gatherThread);
                }
                return future;
            }
            roundScheduled = true;
        }
        scheduleRound();
        return future;
    }

    private void scheduleRound() {
        try {
            syncExecutor.execute(this::fsyncRound);
        } catch (RejectedExecutionException e) {
            synchronized (syncLock) {
                roundScheduled = false;
            }
            fail("fsync executor rejected the sync", e);
        }
    }

    private void intervalTick() {
        synchronized (syncLock) {
            if (roundScheduled || durable >= written || failure != null || closed) {
                return;
            }
            roundScheduled = true;
        }
        scheduleRound();
    }

    /**
     * Runs group-commit rounds back to back on this executor thread while waiters remain (no
     * hand-off between rounds), then yields the thread to other topics after {@link #MAX_ROUNDS_PER_TASK}.
     */
    private void fsyncRound() {
        for (int i = 0; ; i++) {
            List<Waiter> done = runRound();
            long d = durable;
            for (Waiter w : done) {
                w.future().complete(d);
            }
            boolean again;
            synchronized (syncLock) {
                again = !waiters.isEmpty() && failure == null && !closed;
                if (!again) {
                    roundScheduled = false;
                    return;
                }
            }
            if (i + 1 >= MAX_ROUNDS_PER_TASK) {
                scheduleRound(); // fairness: let other topics' rounds run on this thread
                return;
            }
            gather(done.size());
        }
    }

    /**
     * Commit delay (PostgreSQL's commit_delay idea): the writers just acknowledged usually append
     * again within microseconds; waiting briefly for them lets the next round cover them too,
     * instead of every writer joining only every other round. Bounded by {@link #MAX_GATHER_NANOS}
     * and by a quarter of the last round's force time, and skipped when the previous round acknowledged nobody.
     *
     * <p>Only worth it when the acknowledged writers really come back that fast (appenders in this
     * process; a leader's clients on a fast path). A follower's writer is the leader, whose next
     * append follows a whole round trip: there a gather only delays the next round. So whether
     * gathers pay is tracked ({@link GatherPolicy}).
     */
    private void gather(int justAcked) {
        if (justAcked == 0 || lastForceNanos <= 0) {
            return;
        }
        if (!gatherPolicy.shouldGather()) {
            return;
        }
        long wait = Math.min(MAX_GATHER_NANOS, lastForceNanos / GATHER_DIV);
        long deadline = System.nanoTime() + wait;
        int before;
        synchronized (syncLock) {
            before = waiters.size();
            gatherTarget = before + justAcked;
            gatherThread = Thread.currentThread();
        }
        boolean arrived;
        try {
            for (long left = wait; left > 0; left = deadline - System.nanoTime()) {
                LockSupport.parkNanos(this, left);
                synchronized (syncLock) {
                    if (waiters.size() >= gatherTarget || failure != null || closed) {
                        break;
                    }
                }
            }
        } finally {
            synchronized (syncLock) {
                gatherThread = null;
                arrived = waiters.size() > before;
            }
        }
        gatherPolicy.record(arrived);
    }

    /**
     * Whether the next round should gather: the share of recent gathers during which any writer
     * arrived ({@code useful}, out of 1024, a moving average over about 8 gathers) must be at
     * least half; otherwise rounds run back to back and every {@link #PROBE_ROUNDS}th gathers
     * anyway, to notice when writers come back quickly again. Not thread-safe: a store's rounds
     * never overlap (and are handed over under {@code syncLock}).
     */
    static final class GatherPolicy {
        static final int MIN_USEFUL = 512;
        static final int PROBE_ROUNDS = 32;
        private int useful = 1024;
        private int skipped;

        boolean shouldGather() {
            if (useful < MIN_USEFUL && ++skipped < PROBE_ROUNDS) {
                return false;
            }
            skipped = 0;
            return true;
        }

        void record(boolean writerArrived) {
            useful += ((writerArrived ? 1024 : 0) - useful) >> 3;
        }
    }

    private final GatherPolicy gatherPolicy = new GatherPolicy();

    private static final long MAX_GATHER_NANOS = 100_000;
    private static final int GATHER_DIV = 4;
    private volatile long lastForceNanos; // duration of the last round's forces
    private Thread gatherThread;          // guarded by syncLock
    private int gatherTarget;             // guarded by syncLock

    private static final int MAX_ROUNDS_PER_TASK = 32;

    /** Captures, forces, advances {@link #durable}; returns the waiters it covered (to complete outside locks). */
    private List<Waiter> runRound() {
        List<Waiter> done = new ArrayList<>();
        fsyncMutex.lock();
        try {
            if (failure != null || closed) {
                return done;
            }
            List<Segment> files;
            boolean dirSync;
            long upTo;
            Checkpoint ck;
            synchronized (syncLock) {
                upTo = written;
                files = new ArrayList<>(dirty);
                for (Segment s : dirty) {
                    s.dirty = false;
                }
                dirty.clear();
                dirSync = dirDirty;
                dirDirty = false;
                ck = new Checkpoint(ckSeg.first, ckEnd, ckCrc);
            }
            long t0 = System.nanoTime();
            boolean forcedOld = false;
            List<Segment> segsNow = segments;
            Segment newest = segsNow.get(segsNow.size() - 1);
            for (Segment s : files) {
                s.file.force();
                forcedOld |= s != newest; // a rolled segment, synced now: it may go cold
            }
            if (forcedOld) {
                queueColdRelease();
            }
            if (dirSync) {
                fs.syncDirectory(dir);
            }
            lastForceNanos = System.nanoTime() - t0;
            fsyncRounds++;
            synchronized (syncLock) {
                if (upTo > durable) {
                    durable = upTo;
                }
                while (!waiters.isEmpty() && waiters.peek().target() <= durable) {
                    done.add(waiters.poll());
                }
            }
            long now = clock.millis();
            if (!ck.equals(lastCk) && (lastCk == null || lastCk.segmentFirst() != ck.segmentFirst()
                    || now - lastCkMillis >= CHECKPOINT_INTERVAL_MILLIS)) {
                // At most once a second (or per roll): ~3 small fsyncs on the ack path of this round.
                saveCheckpoint(ck);
                lastCkMillis = now;
            }
        } catch (IOException | RuntimeException e) {
            StorageException f = fail("fsync failed", e); // fails every queued waiter
            for (Waiter w : done) {
                w.future().completeExceptionally(f); // a failed round acknowledges nothing
            }
            done.clear();
        } finally {
            fsyncMutex.unlock();
        }
        return done;
    }

    /** Forces every segment written since the last round (caller holds fsyncMutex). */
    private void forceDirty() throws IOException {
        List<Segment> toForce;
        synchronized (syncLock) {
            toForce = new ArrayList<>(dirty);
            for (Segment s : dirty) {
                s.dirty = false;
            }
            dirty.clear();
        }
        for (Segment s : toForce) {
            s.file.force();
        }
    }

    /** Writes the checkpoint (caller holds fsyncMutex or is the constructor). */
    private void saveCheckpoint(Checkpoint ck) throws IOException {
        DurableFiles.saveCheckpoint(fs, dir, ck);
        lastCk = ck;
    }

    /** No background fill runs or starts until {@link #fillTarget} is set again. */
    private void stopFilling() {
        synchronized (fillLock) {
            fillTarget = null;
        }
    }

    @Override
    public void truncateFrom(long index) {
        checkWritable();
        if (index > lastIndex()) {
            return;
        }
        List<Waiter> done;
        long newLast;
        structure.writeLock().lock();
        fsyncMutex.lock();
        try {
            checkWritable();
            stopFilling();
            long from = Math.max(index, firstIndex);
            List<Segment> segs = new ArrayList<>(segments);
            int k = segs.indexOf(floor(segs, from));
            if (k > 0 && segs.get(k).first == from) {
                k--; // the whole segment goes; cut the previous one at its end
            }
            Segment cut = segs.get(k);
            ensureIndexed(cut);
            long rel = Math.min(from - cut.first, cut.count);
            long cutPos = rel == cut.count ? cut.dataEnd : locate(cut, rel, cut.count, cut.dataEnd);
            CRC32C c = new CRC32C();
            SegmentScanner.prefixCrc(cut.file, cutPos, c);
            Checkpoint ck = new Checkpoint(cut.first, cutPos, (int) c.getValue());
            // Lower the checkpoint first: a crash half-way then finds a valid (untruncated) tail, never
            // a checkpoint beyond the data.
            if (lastCk == null || lastCk.segmentFirst() > cut.first
                    || (lastCk.segmentFirst() == cut.first && lastCk.syncedBytes() > cutPos)) {
                saveCheckpoint(ck);
                lastCkMillis = clock.millis();
            }
            for (int i = segs.size() - 1; i > k; i--) { // newest first: a crash leaves a shorter valid log
                Segment s = segs.remove(i);
                closeQuietly(s);
                fs.delete(s.path);
            }
            synchronized (fillLock) {
                if (cut.file.size() != cutPos) {
                    cut.file.truncate(cutPos);
                }
                cut.allocated = cutPos;
                fillTarget = cut;
            }
            cut.index.truncate(rel, cutPos);
            synchronized (syncLock) {
                cut.dataEnd = cutPos;
                cut.count = rel;
            }
            List<Segment> toForce;
            synchronized (syncLock) {
                toForce = new ArrayList<>(dirty);
            }
            for (Segment s : toForce) {
                if (segs.contains(s) && s != cut) {
                    s.file.force();
                }
            }
            cut.file.force();
            fs.syncDirectory(dir);
            newLast = from - 1;
            termRuns.tailMap(from, true).clear();
            termRunsFrom = Math.min(termRunsFrom, from);
            segments = List.copyOf(segs);
            active = cut;
            activeCrc.reset();
            SegmentScanner.prefixCrc(cut.file, cutPos, activeCrc);
            last.set(new Last(newLast, -1));
            done = new ArrayList<>();
            synchronized (syncLock) {
                written = newLast;
                durable = newLast;
                for (Segment s : dirty) {
                    s.dirty = false;
                }
                dirty.clear();
                dirDirty = false;
                ckSeg = cut;
                ckEnd = cutPos;
                ckCrc = (int) activeCrc.getValue();
                done.addAll(waiters);
                waiters.clear();
            }
        } catch (IOException e) {
            throw fail("truncateFrom(" + index + ") failed", e);
        } finally {
            fsyncMutex.unlock();
            structure.writeLock().unlock();
        }
        for (Waiter w : done) {
            w.future().complete(newLast);
        }
    }

    @Override
    public void resetTo(long newFirst) {
        if (newFirst < 1) {
            throw new IllegalArgumentException("first index must be >= 1, was " + newFirst);
        }
        checkWritable();
        List<Waiter> done = new ArrayList<>();
        structure.writeLock().lock();
        fsyncMutex.lock();
        try {
            checkWritable();
            stopFilling();
            // Checkpoint first: after a crash with every segment gone, open restarts at newFirst. Any
            // segment that survives a crash next to it must be durable (see applyRetention).
            forceDirty();
            saveCheckpoint(new Checkpoint(newFirst, 0, 0));
            lastCkMillis = clock.millis();
            List<Segment> segs = segments;
            for (int i = segs.size() - 1; i >= 0; i--) {
                closeQuietly(segs.get(i));
                fs.delete(segs.get(i).path);
            }
            Segment s = new Segment(dir, newFirst);
            s.file = fs.open(s.path, true);
            s.indexed = true;
            s.lastWriteMillis = clock.millis();
            fs.syncDirectory(dir);
            install(List.of(), s, false, -1);
            synchronized (syncLock) {
                done.addAll(waiters);
                waiters.clear();
            }
        } catch (IOException e) {
            throw fail("resetTo(" + newFirst + ") failed", e);
        } finally {
            fsyncMutex.unlock();
            structure.writeLock().unlock();
        }
        for (Waiter w : done) {
            w.future().complete(newFirst - 1);
        }
    }

    @Override
    public void saveHardState(HardState state) {
        checkWritable();
        try {
            DurableFiles.saveHardState(fs, dir, state);
            hardState = state;
        } catch (IOException e) {
            throw fail("saving hard state failed", e);
        }
    }

    @Override
    public byte[] membershipRecord() {
        byte[] r = membershipRecord;
        return r == null ? null : r.clone();
    }

    @Override
    public void saveMembershipRecord(byte[] record) {
        checkWritable();
        try {
            DurableFiles.saveMembership(fs, dir, record.clone());
            membershipRecord = record.clone();
        } catch (IOException e) {
            throw fail("saving the membership record failed", e);
        }
    }

    @Override
    public long applyRetention(long maxDeletableIndex) {
        if (config.retentionMillis() == 0 && config.retentionBytes() == 0) {
            return 0;
        }
        checkWritable();
        structure.writeLock().lock();
        fsyncMutex.lock();
        try {
            checkWritable();
            List<Segment> segs = segments;
            long total = 0;
            for (Segment s : segs) {
                total += s.dataEnd;
            }
            long now = clock.millis();
            int del = 0;
            while (del < segs.size() - 1) { // never the active (last) segment
                Segment s = segs.get(del);
                if (segs.get(del + 1).first - 1 > maxDeletableIndex) {
                    break;
                }
                boolean tooOld = config.retentionMillis() > 0 && now - s.lastWriteMillis > config.retentionMillis();
                boolean tooBig = config.retentionBytes() > 0 && total > config.retentionBytes();
                if (!tooOld && !tooBig) {
                    break;
                }
                total -= s.dataEnd;
                del++;
            }
            if (del == 0) {
                return 0;
            }
            Segment keep = segs.get(del);
            // Invariant: every segment older than the checkpoint's is durable. The deleted ones can
            // reappear after a crash (directory not yet synced), so they must be durable too.
            forceDirty();
            if (lastCk != null && lastCk.segmentFirst() < keep.first) {
                saveCheckpoint(new Checkpoint(keep.first, 0, 0));
                lastCkMillis = now;
            }
            for (int i = 0; i < del; i++) { // oldest first: a crash leaves a valid suffix
                Segment s = segs.get(i);
                closeQuietly(s);
                fs.delete(s.path);
                synchronized (syncLock) {
                    dirty.remove(s);
                }
            }
            fs.syncDirectory(dir);
            long removed = keep.first - firstIndex;
            segments = List.copyOf(segs.subList(del, segs.size()));
            firstIndex = keep.first;
            LOG.info("{}: retention removed {} segment(s), {} messages; first index now {}", topic, del, removed, keep.first);
            return removed;
        } catch (IOException e) {
            throw fail("retention failed", e);
        } finally {
            fsyncMutex.unlock();
            structure.writeLock().unlock();
        }
    }

    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        ScheduledFuture<?> t = intervalTask;
        if (t != null) {
            t.cancel(false);
        }
        List<Waiter> done = new ArrayList<>();
        long upTo = 0;
        structure.writeLock().lock();
        fsyncMutex.lock();
        stopFilling();
        try {
            if (failure == null) {
                try {
                    Segment act = active;
                    List<Segment> toForce;
                    synchronized (syncLock) {
                        toForce = new ArrayList<>(dirty);
                        upTo = written;
                    }
                    if (act.allocated > act.dataEnd) {
                        act.file.truncate(act.dataEnd);
                        act.allocated = act.dataEnd;
                    }
                    for (Segment s : toForce) {
                        s.file.force();
                    }
                    act.file.force();
                    fs.syncDirectory(dir);
                    synchronized (syncLock) {
                        durable = upTo;
                        for (Segment s : dirty) {
                            s.dirty = false;
                        }
                        dirty.clear();
                        done.addAll(waiters);
                        waiters.clear();
                        closed = true;
                    }
                    Checkpoint ck = new Checkpoint(act.first, act.dataEnd, (int) activeCrc.getValue());
                    if (!ck.equals(lastCk)) {
                        saveCheckpoint(ck);
                    }
                } catch (IOException e) {
                    fail("final sync on close failed", e);
                }
            }
            synchronized (syncLock) {
                closed = true;
            }
            closeFiles();
        } finally {
            fsyncMutex.unlock();
            structure.writeLock().unlock();
        }
        for (Waiter w : done) {
            w.future().complete(upTo);
        }
        onClose.run();
    }

    // ------------------------------------------------------------------ failure handling

    private StorageException fail(String what, Throwable cause) {
        StorageException e;
        List<Waiter> pending;
        synchronized (syncLock) {
            if (failure == null) {
                failure = new StorageException(topic + ": " + what + ": " + cause
                        + "; the log refuses further writes and acknowledges nothing until reopened", cause);
                LOG.error("{}", failure.getMessage(), cause);
            }
            e = failure;
            pending = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (Waiter w : pending) {
            w.future().completeExceptionally(e);
        }
        return e;
    }

    private void checkWritable() {
        checkNotClosed();
        StorageException f = failure;
        if (f != null) {
            throw new StorageException(topic + ": log failed earlier (" + f.getMessage() + ")", f);
        }
    }

    private void checkNotClosed() {
        if (closed) {
            throw new StorageException(topic + ": log is closed");
        }
    }

    private void closeFiles() {
        List<Segment> segs = segments;
        if (segs != null) {
            for (Segment s : segs) {
                closeQuietly(s);
            }
        }
        if (active != null) {
            closeQuietly(active);
        }
    }

    private static void closeQuietly(Segment s) {
        LogFile f = s.file;
        if (f != null) {
            try {
                f.close();
            } catch (IOException e) {
                LOG.debug("closing {} failed", s, e);
            }
        }
    }

    /** Group-commit rounds that forced data (for the benchmark's figures). */
    long fsyncRounds() {
        fsyncMutex.lock();
        try {
            return fsyncRounds;
        } finally {
            fsyncMutex.unlock();
        }
    }

    @Override
    public String toString() {
        return "DiskLogStore[" + topic + " " + firstIndex + ".." + lastIndex() + ", durable " + durableIndex() + "]";
    }
}
