package org.forestbus.commitlog.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.forestbus.api.storage.HardState;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.StorageException;
import org.forestbus.api.storage.SyncPolicy;
import org.junit.jupiter.api.Test;

/** RELIABILITY L3: fsync EIO (fsyncgate: no retry-then-ack) and ENOSPC through the simulated file system. */
class FaultInjectionTest {

    private static final LogConfig CFG = LogConfig.defaults().withSegmentBytes(64 << 10);

    @Test
    void failedFsyncAcknowledgesNothingAfterwards() {
        SimulatedFileSystem fs = new SimulatedFileSystem();
        Fixtures.ManualExecutor ex = new Fixtures.ManualExecutor();
        DiskLogStore s = Fixtures.open(fs, Fixtures.SIM_DIR, CFG, SyncPolicy.FSYNC, ex, new Fixtures.MutableClock(0));
        s.append(Fixtures.batch(3, 50, 1));
        CompletableFuture<Long> ok = s.sync();
        ex.runAll();
        assertThat(ok).isCompletedWithValue(3L);

        // three concurrent waiters on the round that fails, one more arriving while it is queued
        List<CompletableFuture<Long>> futures = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            s.append(Fixtures.batch(2, 50, 1));
            futures.add(s.sync());
        }
        fs.failNextForce();
        ex.runAll();
        int refusedAppends = 0;
        for (int i = 0; i < 5; i++) {
            try {
                s.append(Fixtures.batch(1, 10, 1));
            } catch (StorageException e) {
                refusedAppends++;
            }
            futures.add(s.sync());
            ex.runAll();
        }
        assertThatThrownBy(() -> s.saveHardState(new HardState(2, null, 0))).isInstanceOf(StorageException.class);
        assertThatThrownBy(() -> s.truncateFrom(2)).isInstanceOf(StorageException.class);
        int acks = 0;
        int failed = 0;
        for (CompletableFuture<Long> f : futures) {
            if (f.isDone() && !f.isCompletedExceptionally()) {
                acks++;
            } else if (f.isCompletedExceptionally()) {
                failed++;
            }
        }
        assertThat(s.durableIndex()).isEqualTo(3);
        s.close();
        System.out.println("fsync_error acks_after_error=" + acks + " (failed sync futures=" + failed + "/" + futures.size()
                + ", refused appends=" + refusedAppends + "/5)");
        assertThat(acks).isZero();
        assertThat(failed).isEqualTo(futures.size());
        assertThat(refusedAppends).isEqualTo(5);
    }

    @Test
    void enospcRefusesWithoutAckAndTheLogStaysValid() {
        SimulatedFileSystem fs = new SimulatedFileSystem();
        Fixtures.ManualExecutor ex = new Fixtures.ManualExecutor();
        DiskLogStore s = Fixtures.open(fs, Fixtures.SIM_DIR, CFG, SyncPolicy.FSYNC, ex, new Fixtures.MutableClock(0));
        s.append(Fixtures.batch(10, 100, 1));
        CompletableFuture<Long> first = s.sync();
        ex.runAll();
        assertThat(first).isCompletedWithValue(10L);
        fs.spaceLeft(3000); // less than the next preallocation chunk + batch
        int acksWhileFull = 0;
        boolean refused = false;
        for (int i = 0; i < 500 && !refused; i++) {
            try {
                s.append(Fixtures.batch(10, 100, 1)); // fits in preallocated space until the disk is needed
            } catch (StorageException e) {
                refused = true;
            }
        }
        for (int i = 0; i < 3; i++) { // the disk is full: nothing may be acknowledged any more
            CompletableFuture<Long> f = s.sync();
            ex.runAll();
            if (f.isDone() && !f.isCompletedExceptionally()) {
                acksWhileFull++;
            }
            try {
                s.append(Fixtures.batch(1, 10, 1));
                acksWhileFull++;
            } catch (StorageException expected) {
                // refused
            }
        }
        assertThat(refused).isTrue();
        s.close();
        fs.powerLoss(new java.util.Random(1)); // space freed by reboot; unsynced partial writes may survive torn
        DiskLogStore again = Fixtures.open(fs, Fixtures.SIM_DIR, CFG, SyncPolicy.FSYNC, ex, new Fixtures.MutableClock(0));
        boolean valid = again.lastIndex() >= 10 && again.read(1, 1000, Integer.MAX_VALUE).count() == again.lastIndex()
                && again.read(1, 1000, Integer.MAX_VALUE).firstBadChecksum() < 0;
        long last = again.append(Fixtures.batch(5, 100, 2));
        CompletableFuture<Long> f = again.sync();
        ex.runAll();
        boolean resumed = f.isDone() && f.join() == last;
        again.close();
        System.out.println("enospc acks_while_full=" + acksWhileFull + " log_valid=" + valid + " resumed=" + resumed);
        assertThat(acksWhileFull).isZero();
        assertThat(valid).isTrue();
        assertThat(resumed).isTrue();
    }
}
