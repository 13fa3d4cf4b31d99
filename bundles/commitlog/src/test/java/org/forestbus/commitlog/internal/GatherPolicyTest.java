package org.forestbus.commitlog.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GatherPolicyTest {

    private final DiskLogStore.GatherPolicy policy = new DiskLogStore.GatherPolicy();

    /** Runs {@code rounds} rounds whose gathers see a writer arrive (or not); returns how many gathered. */
    private int rounds(int rounds, boolean writerArrives) {
        int gathered = 0;
        for (int i = 0; i < rounds; i++) {
            if (policy.shouldGather()) {
                gathered++;
                policy.record(writerArrives);
            }
        }
        return gathered;
    }

    @Test
    void writersThatComeBackQuicklyKeepEveryRoundGathering() {
        assertThat(rounds(1000, true)).isEqualTo(1000);
    }

    @Test
    void gathersNobodyUsesStopAfterAFewRoundsButAProbeRunsEveryThirtySecond() {
        // the average starts at 1024 and loses an eighth per useless gather: 6 gathers to drop below 512
        assertThat(rounds(16, false)).isEqualTo(6);
        assertThat(rounds(3200, false)).as("then only the probes")
                .isEqualTo(3200 / DiskLogStore.GatherPolicy.PROBE_ROUNDS);
    }

    @Test
    void usefulProbesTurnGatheringBackOn() {
        rounds(1000, false);
        // from ~0, each useful probe gains an eighth of the way to 1024: 6 probes to pass 512,
        // then the very next round gathers too
        int usefulProbes = 0;
        for (int round = 0, last = -2; round < 100 * DiskLogStore.GatherPolicy.PROBE_ROUNDS; round++) {
            if (policy.shouldGather()) {
                policy.record(true);
                if (last == round - 1) {
                    break;
                }
                usefulProbes++;
                last = round;
            }
        }
        assertThat(usefulProbes).isEqualTo(6);
        assertThat(rounds(100, true)).as("on again: every round gathers").isEqualTo(100);
    }
}
