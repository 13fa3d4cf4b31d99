package org.forestbus.commitlog.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.lang.annotation.Annotation;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.CorruptLogException;
import org.forestbus.api.storage.HardState;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.SyncPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Behaviour of the store through the factory, on real disk unless a test needs the simulated file system. */
class DiskLogStoreTest {

    @TempDir
    Path tmp;

    private final List<DiskLogStoreFactory> factories = new ArrayList<>();

    private DiskLogStoreFactory factory(SyncPolicy p) {
        DiskLogStoreFactory f = new DiskLogStoreFactory(tmp, p, 1000, NioFileSystemOps.INSTANCE, Clock.systemUTC());
        factories.add(f);
        return f;
    }

    @AfterEach
    void stop() {
        factories.forEach(DiskLogStoreFactory::deactivate);
    }

    private static long rec(int payload) {
        return MessageBatch.HEADER_SIZE + payload;
    }

    private static MessageBatch numbered(int i) {
        return MessageBatch.of(List.of(ByteBuffer.allocate(200).putInt(0, i).array())).stampTerm(1);
    }

    @Test
    void oldSegmentsGoColdAgainAndAreRevalidatedWhenReadAgain() throws Exception {
        DiskLogStore s = (DiskLogStore) factory(SyncPolicy.FSYNC).open("cold", LogConfig.defaults().withSegmentBytes(1024));
        int n = 300; // a segment rolls once it holds 1 KiB: 5 records of 217 bytes each, 60 segments
        for (int i = 1; i <= n; i++) {
            s.append(numbered(i));
        }
        s.sync().get(10, TimeUnit.SECONDS);
        assertThat(s.stats().segments()).isGreaterThan(DiskLogStore.MAX_WARM_OLD_SEGMENTS + 30);
        int bound = DiskLogStore.MAX_WARM_OLD_SEGMENTS + 2; // and the last two, always open
        // every segment was open while it was the active one; rolls release the old ones
        await().atMost(Duration.ofSeconds(10)).until(() -> s.openSegmentFiles() <= bound);

        // two passes over the whole log: each segment is reopened (and rescanned) as it is reached
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 1; i <= n; i++) {
                MessageBatch b = s.read(i, 1, Integer.MAX_VALUE);
                assertThat(ByteBuffer.wrap(b.payloadArrays().get(0)).getInt(0)).isEqualTo(i);
                assertThat(s.termAt(i)).isEqualTo(1);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> s.openSegmentFiles() <= bound);
        }

        // a cold segment is checked again when it is read again: corruption in it is reported
        Path first = tmp.resolve("cold").resolve(Segment.name(1));
        byte[] bytes = Files.readAllBytes(first);
        bytes[MessageBatch.HEADER_SIZE + 100] ^= 1;
        Files.write(first, bytes);
        assertThatThrownBy(() -> s.read(1, 1, Integer.MAX_VALUE)).isInstanceOf(CorruptLogException.class);
    }

    @Test
    void readersOfOldSegmentsRaceWithReleasesWithoutErrors() throws Exception {
        DiskLogStore s = (DiskLogStore) factory(SyncPolicy.FSYNC).open("race", LogConfig.defaults().withSegmentBytes(1024));
        int initial = 300;
        for (int i = 1; i <= initial; i++) {
            s.append(numbered(i));
        }
        s.sync().get(10, TimeUnit.SECONDS);
        long seed = System.nanoTime();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            java.util.Random rnd = new java.util.Random(seed + r);
            Thread t = new Thread(() -> {
                try {
                    for (int k = 0; k < 4000; k++) { // random old indexes: segments warm up and go cold all the time
                        int i = 1 + rnd.nextInt(initial);
                        MessageBatch b = s.read(i, 1, Integer.MAX_VALUE);
                        if (ByteBuffer.wrap(b.payloadArrays().get(0)).getInt(0) != i || s.termAt(i) != 1) {
                            throw new AssertionError("wrong record at " + i);
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            readers.add(t);
            t.start();
        }
        for (int i = initial + 1; i <= initial + 600; i++) { // rolls and syncs meanwhile
            s.append(numbered(i));
            if (i % 20 == 0) {
                s.sync().get(10, TimeUnit.SECONDS);
            }
        }
        for (Thread t : readers) {
            t.join();
        }
        assertThat(errors).as("seed %d", seed).isEmpty();
        s.sync().get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> s.openSegmentFiles() <= DiskLogStore.MAX_WARM_OLD_SEGMENTS + 2);
    }

    @Test
    void appendReadTermAtAndReopenAfterCleanClose() throws Exception {
        DiskLogStoreFactory f = factory(SyncPolicy.FSYNC);
        LogStore s = f.open("t1", LogConfig.defaults());
        assertThat(s.firstIndex()).isEqualTo(1);
        assertThat(s.lastIndex()).isZero();
        assertThat(s.read(1, 10, 1000).isEmpty()).isTrue();
        assertThat(s.append(Fixtures.batch(4, 10, 1))).isEqualTo(4);
        assertThat(s.append(Fixtures.batch(3, 20, 1))).isEqualTo(7);
        assertThat(s.append(Fixtures.batch(5, 30, 2))).isEqualTo(12);
        assertThat(s.sync().get(10, TimeUnit.SECONDS)).isEqualTo(12);
        assertThat(s.durableIndex()).isEqualTo(12);

        // read limits: whole messages, at most maxMessages, at most maxBytes unless the first alone is larger
        assertThat(s.read(1, 5, Integer.MAX_VALUE).count()).isEqualTo(5);
        assertThat(s.read(1, 100, 1).count()).isEqualTo(1);
        assertThat(s.read(1, 100, (int) (2 * rec(10))).count()).isEqualTo(2);
        assertThat(s.read(1, 100, (int) (2 * rec(10)) - 1).count()).isEqualTo(1);
        assertThat(s.read(3, 100, Integer.MAX_VALUE).count()).isEqualTo(10);
        assertThat(s.read(13, 10, 1000).isEmpty()).isTrue();
        assertThat(s.read(0, 10, 1000).isEmpty()).isTrue();
        assertThat(s.read(1, 0, 1000).isEmpty()).isTrue();
        MessageBatch b = s.read(8, 2, Integer.MAX_VALUE);
        assertThat(b.payloadArrays().get(0)).isEqualTo(Fixtures.batch(5, 30, 2).payloadArrays().get(0));
        assertThat(b.firstBadChecksum()).isEqualTo(-1);

        assertThat(s.termAt(0)).isZero();
        assertThat(s.termAt(1)).isEqualTo(1);
        assertThat(s.termAt(7)).isEqualTo(1);
        assertThat(s.termAt(8)).isEqualTo(2);
        assertThat(s.termAt(12)).isEqualTo(2);
        assertThatThrownBy(() -> s.termAt(13)).isInstanceOf(IndexOutOfBoundsException.class);
        s.close();

        Path seg = tmp.resolve("t1").resolve("0000000000000000001-forest-log");
        assertThat(Files.size(seg)).as("closed segment holds records only").isEqualTo(4 * rec(10) + 3 * rec(20) + 5 * rec(30));

        LogStore r = f.open("t1", LogConfig.defaults());
        assertThat(r.lastIndex()).isEqualTo(12);
        assertThat(r.durableIndex()).isEqualTo(12);
        assertThat(r.termAt(12)).isEqualTo(2);
        assertThat(r.read(1, 100, Integer.MAX_VALUE).count()).isEqualTo(12);
        assertThat(r.append(Fixtures.batch(1, 5, 3))).isEqualTo(13);
        r.close();
    }

    @Test
    void secondOpenOfATopicIsRejectedUntilClosed() {
        DiskLogStoreFactory f = factory(SyncPolicy.FSYNC);
        LogStore s = f.open("dup", LogConfig.defaults());
        assertThatThrownBy(() -> f.open("dup", LogConfig.defaults()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("already open");
        LogStore other = f.open("other", LogConfig.defaults());
        s.close();
        f.open("dup", LogConfig.defaults()).close();
        other.close();
        assertThatThrownBy(() -> f.open("../escape", LogConfig.defaults())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rollsSegmentsAndAppliesRetentionBySizeAndAge() {
        SimulatedFileSystem fs = new SimulatedFileSystem();
        Fixtures.MutableClock clock = new Fixtures.MutableClock(0);
        LogConfig cfg = new LogConfig(1024, 60_000, 2500, SyncPolicy.NONE, 0);
        DiskLogStore s = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.NONE, Runnable::run, clock);
        for (int i = 0; i < 12; i++) { // 12 batches x 3 x 117 bytes; a roll before an append once >= 1024 bytes
            s.append(Fixtures.batch(3, 100, 1));
            clock.millis += 1000;
        }
        assertThat(s.stats().segments()).isEqualTo(4); // 3 batches (1053 bytes) per segment
        assertThat(s.stats().bytes()).isEqualTo(36 * rec(100));
        // never above maxDeletableIndex
        assertThat(s.applyRetention(8)).isZero();
        // by size: 4212 bytes > 2500: oldest closed segments go until <= 2500 (two segments of 1053)
        long removed = s.applyRetention(s.lastIndex());
        assertThat(removed).isEqualTo(18);
        assertThat(s.firstIndex()).isEqualTo(19);
        assertThat(s.read(5, 10, 10_000).isEmpty()).isTrue();
        assertThat(s.read(19, 1, 10_000).count()).isEqualTo(1);
        assertThat(fs.contents(Fixtures.SIM_DIR.resolve(Segment.name(1)))).isNull();
        // by age: the remaining closed segment (last write at t=8s) is older than 60 s at t=70s; never the active one
        clock.millis = 68_999;
        assertThat(s.applyRetention(s.lastIndex())).isZero();
        clock.millis = 70_000;
        assertThat(s.applyRetention(s.lastIndex())).isEqualTo(9);
        assertThat(s.stats().segments()).isEqualTo(1);
        clock.millis = 10_000_000;
        assertThat(s.applyRetention(s.lastIndex())).isZero();
        assertThat(s.firstIndex()).isEqualTo(28);
        assertThat(s.lastIndex()).isEqualTo(36);
        s.close();
        DiskLogStore r = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.NONE, Runnable::run, clock);
        assertThat(r.firstIndex()).isEqualTo(28);
        assertThat(r.lastIndex()).isEqualTo(36);
        r.close();
    }

    @Test
    void zerosAreFilledAheadInTheBackgroundAndNeverOutliveTheSegmentsEnd() throws Exception {
        SimulatedFileSystem fs = new SimulatedFileSystem();
        Fixtures.ManualExecutor ex = new Fixtures.ManualExecutor();
        LogConfig cfg = LogConfig.defaults().withSegmentBytes(64L << 20); // chunks grow to 1 MiB
        DiskLogStore s = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.NONE, ex, Clock.systemUTC());
        Path seg = Fixtures.SIM_DIR.resolve(Segment.name(1));
        s.append(Fixtures.batch(10, 1000, 1)); // the writer's own first fill: 64 KiB past its data
        long data = 10 * rec(1000);
        assertThat(fs.size(seg)).isEqualTo(data + 65536);
        while (fs.size(seg) - data >= 65536 && ex.queue.isEmpty()) {
            s.append(Fixtures.batch(10, 1000, 1));
            data += 10 * rec(1000);
        }
        assertThat(ex.queue).as("less than a chunk left: the next one is asked for").hasSize(1);
        long before = fs.size(seg);
        ex.runAll();
        long after = fs.size(seg);
        assertThat(after).as("filled on the executor, not by the writer").isGreaterThan(before);
        for (long end = data + 10 * rec(1000); end <= after; end += 10 * rec(1000)) {
            s.append(Fixtures.batch(10, 1000, 1)); // the next fill is asked for but does not run
            data = end;
            assertThat(fs.size(seg)).as("appends into filled space write no zeros").isEqualTo(after);
        }
        // the fill asked for before the close runs after it: it must not grow the closed segment
        assertThat(ex.queue).hasSize(1);
        s.close();
        ex.runAll();
        assertThat(fs.size(seg)).as("closed segments hold records only").isEqualTo(data);
        DiskLogStore r = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.NONE, ex, Clock.systemUTC());
        assertThat(r.lastIndex()).isEqualTo(data / rec(1000));
        r.close();
    }

    @Test
    void aFillAskedForBeforeARollLeavesTheClosedSegmentAtItsRecords() throws Exception {
        SimulatedFileSystem fs = new SimulatedFileSystem();
        Fixtures.ManualExecutor ex = new Fixtures.ManualExecutor();
        LogConfig cfg = LogConfig.defaults().withSegmentBytes(200_000);
        DiskLogStore s = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.NONE, ex, Clock.systemUTC());
        long data = 0;
        while (ex.queue.isEmpty()) {
            s.append(Fixtures.batch(10, 1000, 1));
            data += 10 * rec(1000);
        }
        while (s.stats().segments() == 1) { // the queued fill waits while the segment rolls
            s.append(Fixtures.batch(10, 1000, 1));
            data += 10 * rec(1000);
        }
        long firstSegData = data - 10 * rec(1000);
        ex.runAll();
        assertThat(fs.size(Fixtures.SIM_DIR.resolve(Segment.name(1)))).isEqualTo(firstSegData);
        s.close();
    }

    @Test
    void truncateFromAndResetToAreDurableAndReopen() throws Exception {
        DiskLogStoreFactory f = factory(SyncPolicy.FSYNC);
        LogConfig cfg = LogConfig.defaults().withSegmentBytes(1024);
        LogStore s = f.open("tr", cfg);
        for (int i = 0; i < 10; i++) {
            s.append(Fixtures.batch(3, 100, 1 + i / 5));
        }
        s.sync().get(10, TimeUnit.SECONDS);
        assertThat(s.stats().segments()).isEqualTo(4);
        s.truncateFrom(14); // inside the second segment: the third and fourth go, the second is cut
        assertThat(s.lastIndex()).isEqualTo(13);
        assertThat(s.durableIndex()).isEqualTo(13);
        assertThat(s.stats().segments()).isEqualTo(2);
        assertThat(s.termAt(13)).isEqualTo(1);
        s.truncateFrom(100); // past the end: no-op
        assertThat(s.append(Fixtures.batch(2, 7, 5))).isEqualTo(15);
        assertThat(s.termAt(15)).isEqualTo(5);
        s.truncateFrom(10); // exactly the first index of the second segment: the whole segment goes
        assertThat(s.stats().segments()).isEqualTo(1);
        assertThat(s.lastIndex()).isEqualTo(9);
        s.close();
        try (var files = Files.list(tmp.resolve("tr"))) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith("-forest-log")))
                    .containsExactly("0000000000000000001-forest-log");
        }
        s = f.open("tr", cfg);
        assertThat(s.lastIndex()).isEqualTo(9);
        s.resetTo(100);
        assertThat(s.firstIndex()).isEqualTo(100);
        assertThat(s.lastIndex()).isEqualTo(99);
        assertThat(s.read(1, 10, 1000).isEmpty()).isTrue();
        assertThat(s.append(Fixtures.batch(1, 7, 6))).isEqualTo(100);
        s.close();
        s = f.open("tr", cfg);
        assertThat(s.firstIndex()).isEqualTo(100);
        assertThat(s.lastIndex()).isEqualTo(100);
        assertThat(s.termAt(100)).isEqualTo(6);
        s.close();
        try (var files = Files.list(tmp.resolve("tr"))) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith("-forest-log")))
                    .containsExactly("0000000000000000100-forest-log");
        }
    }

    @Test
    void termAtMatchesAModelThroughAppendsTruncationsResetsAndReopens() throws Exception {
        long seed = new java.util.SplittableRandom().nextLong();
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        DiskLogStoreFactory f = factory(SyncPolicy.NONE);
        LogStore s = f.open("terms", new LogConfig(4096, 0, 0, null, 0)); // small segments: several files
        List<Long> model = new java.util.ArrayList<>(); // term of index first + i
        long first = 1;
        long term = 1;
        for (int step = 0; step < 300; step++) {
            int op = rnd.nextInt(10);
            if (op < 6) {
                int n = 1 + rnd.nextInt(20);
                java.util.List<byte[]> ps = new java.util.ArrayList<>();
                for (int i = 0; i < n; i++) {
                    ps.add(new byte[rnd.nextInt(40)]);
                }
                // a follower's append may mix terms: stamp a random split of the batch
                MessageBatch b = MessageBatch.of(ps);
                int split = rnd.nextInt(n + 1);
                b.slice(0, split).stampTerm(term);
                if (rnd.nextInt(3) == 0) {
                    term += 1 + rnd.nextInt(2);
                }
                b.slice(split, n).stampTerm(term);
                s.append(b);
                for (int i = 0; i < n; i++) {
                    model.add(i < split ? b.term(i) : term);
                }
            } else if (op < 8 && !model.isEmpty()) {
                int keep = rnd.nextInt(model.size() + 1);
                s.truncateFrom(first + keep);
                model.subList(keep, model.size()).clear();
                term += rnd.nextInt(2);
            } else if (op == 8) {
                s.close();
                s = f.open("terms", new LogConfig(4096, 0, 0, null, 0));
            } else if (rnd.nextInt(10) == 0) {
                first = first + model.size() + rnd.nextInt(5);
                s.resetTo(first);
                model.clear();
            }
            for (int i = 0; i < model.size(); i++) {
                assertThat(s.termAt(first + i)).as("term of %d at step %d (seed %d)", first + i, step, seed)
                        .isEqualTo(model.get(i));
            }
        }
        s.close();
    }

    @Test
    void membershipRecordRoundTripsSurvivesResetAndACorruptFileRefusesToOpen() throws Exception {
        DiskLogStoreFactory f = factory(SyncPolicy.FSYNC);
        LogStore s = f.open("ms", LogConfig.defaults());
        assertThat(s.membershipRecord()).isNull();
        s.saveMembershipRecord(new byte[] {1, 2, 3});
        s.saveMembershipRecord(new byte[] {4, 5});
        s.resetTo(10); // a RESET replaces the messages, not the state files
        s.close();
        s = f.open("ms", LogConfig.defaults());
        assertThat(s.membershipRecord()).containsExactly(4, 5);
        s.saveMembershipRecord(new byte[0]);
        s.close();
        s = f.open("ms", LogConfig.defaults());
        assertThat(s.membershipRecord()).isEmpty();
        s.saveMembershipRecord(new byte[] {9, 9, 9, 9});
        s.close();
        Path ms = tmp.resolve("ms").resolve(DurableFiles.MEMBERSHIP);
        byte[] a = Files.readAllBytes(ms);
        a[10] ^= 1;
        Files.write(ms, a);
        assertThatThrownBy(() -> f.open("ms", LogConfig.defaults())).isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(DurableFiles.MEMBERSHIP);
    }

    @Test
    void hardStateRoundTripsAndACorruptFileRefusesToOpen() throws Exception {
        DiskLogStoreFactory f = factory(SyncPolicy.FSYNC);
        LogStore s = f.open("hs", LogConfig.defaults());
        assertThat(s.hardState()).isEqualTo(HardState.INITIAL);
        s.saveHardState(new HardState(7, "node-b:3001", 42));
        s.saveHardState(new HardState(8, null, 43));
        s.close();
        s = f.open("hs", LogConfig.defaults());
        assertThat(s.hardState()).isEqualTo(new HardState(8, null, 43));
        s.saveHardState(new HardState(9, "ü-node", 44));
        s.close();
        s = f.open("hs", LogConfig.defaults());
        assertThat(s.hardState()).isEqualTo(new HardState(9, "ü-node", 44));
        s.close();
        Path hs = tmp.resolve("hs").resolve(DurableFiles.HARD_STATE);
        byte[] a = Files.readAllBytes(hs);
        a[6] ^= 1;
        Files.write(hs, a);
        assertThatThrownBy(() -> f.open("hs", LogConfig.defaults())).isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(DurableFiles.HARD_STATE);
        // a failed open leaves the topic free for a later attempt
        Files.delete(hs);
        f.open("hs", LogConfig.defaults()).close();
    }

    @Test
    void opensAnOriginalDataDirectory() throws Exception {
        Path dir = tmp.resolve("orig");
        Files.createDirectories(dir);
        MessageBatch b = MessageBatch.of(List.of("hello".getBytes(StandardCharsets.UTF_8), new byte[0])).stampTerm(7);
        ByteBuffer buf = b.buffer();
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        // FORESTBUS-SPEC §1.1 test vector
        assertThat(bytes).startsWith(0x00, 0x05, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xa6, 0x10, 0x36);
        Files.write(dir.resolve("0000000000000000005-forest-log"), bytes);
        Files.writeString(dir.resolve("topic-store"), "{\"Term\":3,\"VotedFor\":\"localhost:3001\"}");
        LogStore s = factory(SyncPolicy.FSYNC).open("orig", LogConfig.defaults());
        assertThat(s.firstIndex()).isEqualTo(5);
        assertThat(s.lastIndex()).isEqualTo(6);
        assertThat(s.termAt(6)).isEqualTo(7);
        assertThat(new String(s.read(5, 1, 100).payloadArrays().get(0), StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(s.hardState()).isEqualTo(new HardState(3, "localhost:3001", 0));
        s.close();
        assertThat(Files.readAllBytes(dir.resolve("0000000000000000005-forest-log"))).isEqualTo(bytes);
    }

    @Test
    void corruptionInAClosedSegmentIsDetectedWhenRead() throws Exception {
        DiskLogStoreFactory f = factory(SyncPolicy.FSYNC);
        LogConfig cfg = LogConfig.defaults().withSegmentBytes(1024);
        LogStore s = f.open("cs", cfg);
        for (int i = 0; i < 6; i++) {
            s.append(Fixtures.batch(3, 100, 1));
        }
        s.close();
        Path seg1 = tmp.resolve("cs").resolve(Segment.name(1));
        byte[] a = Files.readAllBytes(seg1);
        a[(int) rec(100) + 40] ^= 0x10; // payload of record 2
        Files.write(seg1, a);
        LogStore r = f.open("cs", cfg); // closed, synced segments are validated lazily
        assertThat(r.read(10, 1, 1000).count()).isEqualTo(1);
        assertThatThrownBy(() -> r.read(1, 10, 10_000)).isInstanceOfSatisfying(CorruptLogException.class, e -> {
            assertThat(e.file()).endsWith(Segment.name(1));
            assertThat(e.offset()).isEqualTo(rec(100));
        });
        r.close();
    }

    @Test
    void groupCommitServesConcurrentAppendersOnRealDisk() throws Exception {
        DiskLogStoreFactory f = factory(SyncPolicy.FSYNC);
        LogStore s = f.open("gc", LogConfig.defaults().withSegmentBytes(64 << 10));
        ReentrantLock writeLock = new ReentrantLock();
        int threads = 4;
        int perThread = 50;
        CountDownLatch done = new CountDownLatch(threads);
        List<Throwable> errors = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    for (int i = 0; i < perThread; i++) {
                        long idx;
                        CompletableFuture<Long> sync;
                        writeLock.lock();
                        try {
                            idx = s.append(Fixtures.batch(10, 100, 1));
                        } finally {
                            writeLock.unlock();
                        }
                        sync = s.sync();
                        long durable = sync.get(10, TimeUnit.SECONDS);
                        if (durable < idx || s.durableIndex() < idx) {
                            throw new AssertionError("acked " + durable + " for index " + idx);
                        }
                    }
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                } finally {
                    done.countDown();
                }
            });
            th.start();
        }
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(errors).isEmpty();
        assertThat(s.lastIndex()).isEqualTo(threads * perThread * 10L);
        assertThat(s.durableIndex()).isEqualTo(s.lastIndex());
        assertThat(s.stats().segments()).isGreaterThan(1);
        long n = 0;
        for (long i = 1; i <= s.lastIndex(); ) {
            MessageBatch b = s.read(i, 500, 1 << 20);
            assertThat(b.firstBadChecksum()).isEqualTo(-1);
            i += b.count();
            n += b.count();
        }
        assertThat(n).isEqualTo(s.lastIndex());
        s.close();
    }

    @Test
    void intervalAndNonePoliciesAcknowledgeAtOnce() {
        SimulatedFileSystem fs = new SimulatedFileSystem();
        DiskLogStoreFactory f = new DiskLogStoreFactory(Path.of("simdata"), SyncPolicy.FSYNC, 1000, fs, Clock.systemUTC());
        factories.add(f);
        LogStore interval = f.open("iv", new LogConfig(1 << 20, 0, 0, SyncPolicy.INTERVAL, 20));
        interval.append(Fixtures.batch(2, 10, 1));
        assertThat(interval.sync()).isCompletedWithValue(2L);
        assertThat(interval.durableIndex()).isEqualTo(2);
        int before = fs.forces;
        await().atMost(Duration.ofSeconds(10)).until(() -> fs.forces > before); // the timer forced it
        interval.close();
        LogStore none = f.open("no", new LogConfig(1 << 20, 0, 0, SyncPolicy.NONE, 0));
        int forces = fs.forces;
        none.append(Fixtures.batch(2, 10, 1));
        assertThat(none.sync()).isCompletedWithValue(2L);
        assertThat(fs.forces).isEqualTo(forces);
        none.close();
    }

    @Test
    void configurationDefaultsAndDataDirResolution() {
        DiskStorageConfig cfg = new DiskStorageConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return DiskStorageConfig.class;
            }

            @Override
            public String data_dir() {
                return "forestbus-data";
            }

            @Override
            public String sync_policy() {
                return "Interval";
            }

            @Override
            public long sync_interval_ms() {
                return 250;
            }
        };
        String old = System.getProperty("karaf.base");
        try {
            System.setProperty("karaf.base", tmp.toString());
            assertThat(DiskLogStoreFactory.resolve("forestbus-data")).isEqualTo(tmp.resolve("forestbus-data"));
            assertThat(DiskLogStoreFactory.resolve(tmp.resolve("abs").toString())).isEqualTo(tmp.resolve("abs"));
            DiskLogStoreFactory f = new DiskLogStoreFactory(cfg);
            factories.add(f);
            assertThat(f.dataDir()).isEqualTo(tmp.resolve("forestbus-data"));
            LogStore s = f.open("cfg", LogConfig.defaults()); // null policy = node default (interval): acked at once
            s.append(Fixtures.batch(1, 1, 1));
            assertThat(s.sync()).isCompletedWithValue(1L);
            s.close();
        } finally {
            if (old == null) {
                System.clearProperty("karaf.base");
            } else {
                System.setProperty("karaf.base", old);
            }
        }
        assertThatThrownBy(() -> DiskLogStoreFactory.parsePolicy("sometimes")).isInstanceOf(IllegalArgumentException.class);
        assertThat(DiskLogStoreFactory.parsePolicy("fsync")).isEqualTo(SyncPolicy.FSYNC);
    }
}
