package org.forestbus.commitlog.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.SyncPolicy;
import org.junit.jupiter.api.Test;

/** RELIABILITY L3 exhaustive truncation: a segment cut at every byte offset recovers the longest whole-record prefix. */
class TruncationRecoveryTest {

    @Test
    void everyTruncationPointRecoversTheLongestPrefix() {
        long seed = 20261128L;
        Random rnd = new Random(seed);
        // ~200 records, ~64 KiB, bare v0 records as the original wrote them (no checkpoint file)
        List<byte[]> records = new ArrayList<>();
        ByteBuffer all = ByteBuffer.allocate(1 << 20);
        List<Integer> ends = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            MessageBatch b = Fixtures.batch(rnd, 1, 2 * 300, 1 + i / 50);
            byte[] r = new byte[b.sizeBytes()];
            b.buffer().get(r);
            records.add(r);
            all.put(r);
            ends.add(all.position());
        }
        byte[] segment = Arrays.copyOf(all.array(), all.position());
        Path seg = Fixtures.SIM_DIR.resolve(Segment.name(1));
        int points = 0;
        int correct = 0;
        MessageBatch extra = Fixtures.batch(2, 10, 9);
        for (int cut = 0; cut <= segment.length; cut++) {
            points++;
            int expected = 0;
            while (expected < ends.size() && ends.get(expected) <= cut) {
                expected++;
            }
            SimulatedFileSystem fs = new SimulatedFileSystem();
            fs.putDurable(seg, Arrays.copyOf(segment, cut));
            DiskLogStore store = Fixtures.open(fs, Fixtures.SIM_DIR, LogConfig.defaults().withSegmentBytes(64 << 10), SyncPolicy.NONE,
                    Runnable::run, new Fixtures.MutableClock(0));
            boolean ok = store.firstIndex() == 1 && store.lastIndex() == expected
                    && fs.contents(seg).length == (expected == 0 ? 0 : ends.get(expected - 1));
            // appends work after recovery and re-read correctly (no hole, no phantom records: spec §3.3)
            long last = store.append(extra);
            ok &= last == expected + 2;
            MessageBatch back = store.read(1, 1000, Integer.MAX_VALUE);
            ok &= back.count() == expected + 2;
            if (ok) {
                ByteBuffer got = back.buffer();
                for (int i = 0; i < expected && ok; i++) {
                    byte[] r = new byte[records.get(i).length];
                    got.get(r);
                    ok = Arrays.equals(r, records.get(i));
                }
                ok &= Arrays.deepEquals(back.slice(expected, expected + 2).payloadArrays().toArray(), extra.payloadArrays().toArray());
                ok &= store.termAt(expected + 1) == 9;
            }
            store.close();
            if (ok) {
                correct++;
            } else {
                System.out.println("truncation point " + cut + " failed (seed " + seed + ")");
            }
        }
        System.out.println("truncation points=" + correct + "/" + points + " recovered correct prefix"
                + " (segment " + segment.length + " bytes, " + records.size() + " records)");
        assertThat(correct).isEqualTo(points);
        assertThat(points).isGreaterThan(60_000);
    }
}
