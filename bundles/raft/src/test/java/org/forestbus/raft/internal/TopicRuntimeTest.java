package org.forestbus.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TopicRuntimeTest {

    final TopicRuntime runtime = new TopicRuntime(false); // ticked by hand

    @AfterEach
    void close() {
        runtime.close();
    }

    @Test
    void everyTickerTicksOncePerPeriodInPhasesSpreadOverThePeriod() {
        List<AtomicInteger> counts = IntStream.range(0, 200).mapToObj(i -> new AtomicInteger()).toList();
        List<Runnable> tickers = counts.stream().<Runnable>map(c -> c::incrementAndGet).toList();
        tickers.forEach(runtime::addTicker);
        Set<Integer> phasesUsed = new HashSet<>();
        for (int period = 1; period <= 3; period++) {
            for (int phase = 0; phase < TopicRuntime.TICK_PHASES; phase++) {
                int before = counts.stream().mapToInt(AtomicInteger::get).sum();
                runtime.tickNextPhase();
                if (counts.stream().mapToInt(AtomicInteger::get).sum() > before) {
                    phasesUsed.add(phase);
                }
            }
            int p = period;
            assertThat(counts).allSatisfy(c -> assertThat(c.get()).isEqualTo(p));
        }
        // 200 tickers in the 9 followers' phases: all nine are used unless the odds are ~1e-8
        assertThat(phasesUsed).hasSize(TopicRuntime.TICK_PHASES - 1).doesNotContain(TopicRuntime.LEADERS_PHASE);

        tickers.subList(0, 50).forEach(runtime::moveTickerToLeadersPhase);
        runtime.tickNextPhase(); // the leaders' phase (0) comes first in every period
        assertThat(counts.subList(0, 50)).allSatisfy(c -> assertThat(c.get()).isEqualTo(4));
        assertThat(counts.subList(50, 200)).allSatisfy(c -> assertThat(c.get()).isEqualTo(3));
    }

    @Test
    void rephasingMovesARegisteredTickerAndNeverRevivesARemovedOne() {
        AtomicInteger ticks = new AtomicInteger();
        Runnable ticker = ticks::incrementAndGet;
        runtime.addTicker(ticker);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            runtime.rephaseTicker(ticker);
            seen.add(runtime.phaseOf(ticker));
        }
        assertThat(seen).as("phases after 100 random moves").hasSizeGreaterThan(1).doesNotContain(TopicRuntime.LEADERS_PHASE);
        assertThat(runtime.tickerCount()).isEqualTo(1);

        runtime.removeTicker(ticker);
        runtime.rephaseTicker(ticker); // e.g. a campaigning topic's last tick racing its close
        assertThat(runtime.phaseOf(ticker)).isEqualTo(-1);
        assertThat(runtime.tickerCount()).isZero();
        runtime.tickAll();
        assertThat(ticks.get()).isZero();
    }
}
