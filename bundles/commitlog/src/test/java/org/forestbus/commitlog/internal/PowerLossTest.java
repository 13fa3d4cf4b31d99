package org.forestbus.commitlog.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.HardState;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.StorageException;
import org.forestbus.api.storage.SyncPolicy;
import org.junit.jupiter.api.Test;

/**
 * RELIABILITY L3 simulated power loss: random append / sync (group commit on a manually driven
 * executor) / roll / truncateFrom / resetTo / retention / hard-state saves / clean reopen, the
 * power cut before a random file-system operation, then recovery. Every record whose sync future
 * completed must be present and intact; every recovered record must be one that was written at
 * that index (no resurrection after a durable truncate, no garbage); the hard state is the last
 * saved one (or the one being saved at the cut).
 */
class PowerLossTest {

    private static final int TRIALS = Integer.getInteger("powerloss.trials", 10_000);
    private int doubleCrashes;
    private static final boolean VERBOSE = Boolean.getBoolean("powerloss.verbose");

    private static void trace(java.util.function.Supplier<String> s) {
        if (VERBOSE) {
            System.out.println(s.get());
        }
    }

    /** Model of one index: record bytes, whether an acknowledged sync covers it, whether it must survive. */
    private static final class Rec {
        final byte[] bytes;
        boolean acked;
        boolean mayVanish; // removed by retention, or an interrupted truncate/reset

        Rec(byte[] bytes) {
            this.bytes = bytes;
        }
    }

    @Test
    void ackedRecordsSurvivePowerLoss() {
        long baseSeed = Long.getLong("powerloss.seed", 0x5eed2026L);
        int crashes = 0;
        long ackedChecked = 0;
        long lost = 0;
        long torn = 0;
        for (int t = 0; t < TRIALS; t++) {
            long seed = baseSeed + t;
            try {
                long[] r = trial(seed);
                crashes++;
                ackedChecked += r[0];
                torn += r[1];
            } catch (AssertionError | RuntimeException e) {
                lost++;
                throw new AssertionError("power-loss trial failed, seed " + seed + " (rerun with -Dpowerloss.seed="
                        + seed + "): " + e, e);
            }
        }
        System.out.println("crash points=" + crashes + " acked_records_lost=" + lost
                + " (acked records checked=" + ackedChecked + ", recoveries that truncated a tail=" + torn
                + ", second power cut during recovery=" + doubleCrashes + ")");
        assertThat(crashes).isGreaterThanOrEqualTo(10_000);
        assertThat(lost).isZero();
        assertThat(ackedChecked).isGreaterThan(TRIALS);
    }

    /** @return {acked records verified, 1 if recovery changed the log} */
    private long[] trial(long seed) {
        Random rnd = new Random(seed);
        SimulatedFileSystem fs = new SimulatedFileSystem();
        Fixtures.MutableClock clock = new Fixtures.MutableClock(1_000_000);
        LogConfig cfg = new LogConfig(1024 + rnd.nextInt(3) * 1024, 0, rnd.nextBoolean() ? 0 : 4096, SyncPolicy.FSYNC, 0);
        Fixtures.ManualExecutor ex = new Fixtures.ManualExecutor();
        DiskLogStore store = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.FSYNC, ex, clock);
        TreeMap<Long, Rec> model = new TreeMap<>();
        HardState saved = HardState.INITIAL;
        HardState inFlight = null;
        long term = 1;
        fs.freezeAfter(1 + rnd.nextInt(300));
        int ops = 20 + rnd.nextInt(80);
        try {
            for (int i = 0; i < ops && !fs.frozen(); i++) {
                clock.millis += rnd.nextInt(400);
                fs.setTime(clock.millis);
                int op = rnd.nextInt(100);
                DiskLogStore st = store;
                trace(() -> "op " + op + " log " + st.firstIndex() + ".." + st.lastIndex() + " durable " + st.durableIndex()
                        + " fsOps " + fs.mutatingOps + " stats " + st.stats());
                if (op < 40) {
                    MessageBatch b = Fixtures.batch(rnd, 1 + rnd.nextInt(4), rnd.nextInt(4) == 0 ? 400 : 120, term);
                    long next = store.lastIndex() + 1;
                    ByteBuffer buf = b.buffer();
                    for (int k = 0; k < b.count(); k++) {
                        int len = MessageBatch.HEADER_SIZE + buf.getInt(buf.position() + 1);
                        byte[] rec = new byte[len];
                        buf.get(rec);
                        model.put(next + k, new Rec(rec));
                    }
                    long last = store.append(b);
                    assertThat(last).isEqualTo(next + b.count() - 1);
                } else if (op < 60) {
                    long target = store.lastIndex();
                    CompletableFuture<Long> f = store.sync();
                    f.thenAccept(v -> {
                        for (Rec r : model.headMap(Math.min(target, v), true).values()) {
                            r.acked = true;
                        }
                    });
                } else if (op < 78) {
                    if (rnd.nextBoolean()) {
                        ex.runOne();
                    } else {
                        ex.runAll();
                    }
                } else if (op < 83) {
                    long from = store.firstIndex() + rnd.nextInt((int) (store.lastIndex() - store.firstIndex() + 2));
                    markMayVanish(model, from);
                    store.truncateFrom(from);
                    model.tailMap(from, true).clear();
                } else if (op < 88) {
                    term += rnd.nextInt(2);
                    HardState hs = new HardState(term, rnd.nextBoolean() ? null : "node-" + rnd.nextInt(5), store.lastIndex());
                    inFlight = hs;
                    store.saveHardState(hs);
                    saved = hs;
                    inFlight = null;
                } else if (op < 94) {
                    long first = store.firstIndex();
                    long removed = store.applyRetention(store.lastIndex());
                    assertThat(store.firstIndex()).isEqualTo(first + removed);
                    markMayVanish(model.headMap(store.firstIndex(), false));
                } else if (op < 96) {
                    long newFirst = store.lastIndex() + 1 + rnd.nextInt(3);
                    markMayVanish(model, Long.MIN_VALUE);
                    store.resetTo(newFirst);
                    model.clear();
                    assertThat(store.firstIndex()).isEqualTo(newFirst);
                    assertThat(store.lastIndex()).isEqualTo(newFirst - 1);
                } else {
                    store.close();
                    ex.runAll();
                    store = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.FSYNC, ex, clock);
                }
            }
        } catch (StorageException e) {
            if (!fs.frozen()) {
                throw e;
            }
        }
        // The power goes out (if it has not already): nothing more is acknowledged after this point.
        trace(() -> "crash; frozen=" + fs.frozen());
        fs.freezeAfter(1);
        ex.queue.clear();
        fs.powerLoss(rnd);
        Fixtures.ManualExecutor ex2 = new Fixtures.ManualExecutor();
        if (rnd.nextInt(4) == 0) { // a second power cut during recovery: recovery itself must be crash-safe
            fs.freezeAfter(1 + rnd.nextInt(12));
            try {
                Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.FSYNC, ex2, clock);
            } catch (StorageException e) {
                if (!fs.frozen()) {
                    throw e;
                }
            }
            fs.freezeAfter(1);
            fs.powerLoss(rnd);
            doubleCrashes++;
        }
        DiskLogStore rec = Fixtures.open(fs, Fixtures.SIM_DIR, cfg, SyncPolicy.FSYNC, ex2, clock);
        long checked = 0;
        boolean changed = false;
        for (Map.Entry<Long, Rec> e : model.entrySet()) {
            Rec r = e.getValue();
            if (r.acked && !r.mayVanish) {
                MessageBatch got = rec.read(e.getKey(), 1, Integer.MAX_VALUE);
                assertThat(got.count()).as("acked record %d present (log %d..%d)", e.getKey(), rec.firstIndex(),
                        rec.lastIndex()).isEqualTo(1);
                assertThat(bytes(got)).as("acked record %d intact", e.getKey()).isEqualTo(r.bytes);
                checked++;
            }
        }
        for (long i = rec.firstIndex(); i <= rec.lastIndex(); ) {
            MessageBatch got = rec.read(i, 1000, Integer.MAX_VALUE);
            assertThat(got.count()).isPositive();
            ByteBuffer b = got.buffer();
            for (int k = 0; k < got.count(); k++, i++) {
                byte[] one = new byte[MessageBatch.HEADER_SIZE + b.getInt(b.position() + 1)];
                b.get(one);
                Rec m = model.get(i);
                assertThat(m).as("recovered record %d was written (not resurrected, not garbage)", i).isNotNull();
                assertThat(one).as("recovered record %d content", i).isEqualTo(m.bytes);
                if (i >= 1 && rec.termAt(i) != ByteBuffer.wrap(one).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(5)) {
                    throw new AssertionError("termAt mismatch at " + i);
                }
            }
        }
        HardState hs = rec.hardState();
        if (!hs.equals(saved) && !hs.equals(inFlight)) {
            throw new AssertionError("hard state " + hs + " is neither the saved " + saved + " nor the in-flight " + inFlight);
        }
        // the recovered log accepts appends and syncs
        MessageBatch more = Fixtures.batch(rnd, 2, 50, term + 1);
        long last = rec.append(more);
        CompletableFuture<Long> f = rec.sync();
        ex2.runAll();
        assertThat(f).isCompletedWithValue(last);
        changed = rec.lastIndex() - 2 < (model.isEmpty() ? 0 : model.lastKey());
        rec.close();
        return new long[] {checked, changed ? 1 : 0};
    }

    private static void markMayVanish(TreeMap<Long, Rec> model, long from) {
        for (Rec r : model.tailMap(from, true).values()) {
            r.mayVanish = true;
        }
    }

    private static void markMayVanish(Map<Long, Rec> part) {
        for (Rec r : part.values()) {
            r.mayVanish = true;
        }
    }

    private static byte[] bytes(MessageBatch b) {
        byte[] a = new byte[b.sizeBytes()];
        b.buffer().get(a);
        return a;
    }

}
