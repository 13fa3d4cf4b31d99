package org.forestbus.commitlog.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.CorruptLogException;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.SyncPolicy;
import org.junit.jupiter.api.Test;

/**
 * RELIABILITY L3 corruption: flips inside checkpointed (synced) bytes must refuse to open, naming
 * file and offset — never a silent truncation; flips in the last record of the unsynced tail are
 * truncated away; a bad record followed by a valid one in the tail is mid-data corruption (refused).
 */
class CorruptionTest {

    private static final Path SEG = Fixtures.SIM_DIR.resolve(Segment.name(1));
    private static final Path CK = Fixtures.SIM_DIR.resolve(DurableFiles.CHECKPOINT);
    private static final LogConfig CFG = LogConfig.defaults().withSegmentBytes(1 << 20);

    private byte[] segment;
    private byte[] checkpoint;
    private int syncedBytes;
    private long syncedRecords;
    private final List<Integer> tailStarts = new ArrayList<>();
    private long total;

    private void build(long seed) {
        Random rnd = new Random(seed);
        SimulatedFileSystem fs = new SimulatedFileSystem();
        DiskLogStore s = Fixtures.open(fs, Fixtures.SIM_DIR, CFG, SyncPolicy.NONE, Runnable::run, new Fixtures.MutableClock(0));
        for (int i = 0; i < 20; i++) {
            s.append(Fixtures.batch(rnd, 1 + rnd.nextInt(4), 200, 3));
        }
        s.close(); // checkpoint covers everything written so far
        s = Fixtures.open(fs, Fixtures.SIM_DIR, CFG, SyncPolicy.NONE, Runnable::run, new Fixtures.MutableClock(0));
        syncedRecords = s.lastIndex();
        syncedBytes = (int) s.stats().bytes();
        for (int i = 0; i < 4; i++) {
            tailStarts.add((int) s.stats().bytes());
            s.append(Fixtures.batch(rnd, 1, 200, 4));
        }
        tailStarts.add((int) s.stats().bytes());
        total = s.lastIndex();
        fs.syncEverything(); // the tail reached the disk, the checkpoint did not move
        segment = fs.contents(SEG);
        checkpoint = fs.contents(CK);
    }

    private DiskLogStore openWith(byte[] seg) {
        SimulatedFileSystem fs = new SimulatedFileSystem();
        fs.putDurable(SEG, seg);
        fs.putDurable(CK, checkpoint);
        return Fixtures.open(fs, Fixtures.SIM_DIR, CFG, SyncPolicy.NONE, Runnable::run, new Fixtures.MutableClock(0));
    }

    @Test
    void flipsInSyncedDataRefuseToOpenAndTailFlipsAreTruncated() {
        long seed = 4242;
        build(seed);
        Random rnd = new Random(seed);
        assertThat(syncedBytes).isGreaterThan(5000);
        int flips = 0;
        int detected = 0;
        int silentTruncation = 0;
        List<int[]> cases = new ArrayList<>();
        for (int o = 0; o < 3 * 217 && o < syncedBytes; o++) {
            cases.add(new int[] {o, 0xFF}); // every byte of the first records, inverted
        }
        for (int i = 0; i < 1500; i++) {
            cases.add(new int[] {rnd.nextInt(syncedBytes), 1 << rnd.nextInt(8)}); // sampled single bits
        }
        for (int[] c : cases) {
            byte[] bad = segment.clone();
            bad[c[0]] ^= (byte) c[1];
            flips++;
            try {
                DiskLogStore s = openWith(bad);
                if (s.lastIndex() < total) {
                    silentTruncation++;
                }
                System.out.println("undetected flip at " + c[0] + " (seed " + seed + ")");
                s.close();
            } catch (CorruptLogException e) {
                if (e.file().endsWith(Segment.name(1)) && e.offset() >= 0 && e.offset() <= syncedBytes) {
                    detected++;
                } else {
                    System.out.println("flip at " + c[0] + " reported at " + e.file() + ":" + e.offset());
                }
            }
        }
        System.out.println("flips=" + flips + " detected=" + detected + " silent_truncation_of_synced=" + silentTruncation
                + " (synced bytes " + syncedBytes + ", seed " + seed + ")");
        assertThat(detected).isEqualTo(flips);
        assertThat(silentTruncation).isZero();

        // Tail: any flip in the last record (outside its term, which v0 does not checksum) truncates it.
        int lastStart = tailStarts.get(tailStarts.size() - 2);
        int lastEnd = tailStarts.get(tailStarts.size() - 1);
        int tailFlips = 0;
        int truncated = 0;
        for (int o = lastStart; o < lastEnd; o++) {
            if (o - lastStart >= 5 && o - lastStart < 13) {
                continue; // term field
            }
            byte[] bad = segment.clone();
            bad[o] ^= (byte) 0xFF;
            tailFlips++;
            DiskLogStore s = openWith(bad);
            if (s.lastIndex() == total - 1 && s.stats().bytes() == lastStart) {
                truncated++;
            }
            s.close();
        }
        // Tail, not the last record: a bad checksum followed by a valid record is refused.
        int midStart = tailStarts.get(0);
        int midFlips = 0;
        int refused = 0;
        for (int o = midStart + MessageBatch.HEADER_SIZE; o < tailStarts.get(1); o += 7) {
            byte[] bad = segment.clone();
            bad[o] ^= (byte) 0x5A;
            midFlips++;
            try {
                openWith(bad).close();
            } catch (CorruptLogException e) {
                if (e.offset() == midStart) {
                    refused++;
                }
            }
        }
        System.out.println("tail_flips=" + tailFlips + " truncated=" + truncated + " mid_tail_payload_flips=" + midFlips
                + " refused=" + refused + " (synced records " + syncedRecords + ", total " + total + ")");
        assertThat(truncated).isEqualTo(tailFlips);
        assertThat(refused).isEqualTo(midFlips);
        assertThat(tailFlips).isGreaterThan(10);
    }
}
