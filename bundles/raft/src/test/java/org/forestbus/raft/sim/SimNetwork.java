package org.forestbus.raft.sim;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The simulated network's fault model: per-message drop, duplicate, delay and long reorder
 * (labrpc-like numbers), plus directed link cuts for partitions (isolate, split, one-way,
 * bridge). A message is dropped when its link is cut at send time or at delivery time.
 */
final class SimNetwork {
    private final RandomGenerator rnd;
    private final Set<String> cut = new HashSet<>(); // "from>to"
    double dropRate;
    double duplicateRate;
    int minDelayMs = 1;
    int maxDelayMs = 5;
    /** Probability that a message is held back 200-2200 ms (long reorder). */
    double longDelayRate;

    SimNetwork(RandomGenerator rnd) {
        this.rnd = rnd;
    }

    boolean connected(String from, String to) {
        return !cut.contains(from + ">" + to);
    }

    /** Cuts the link from {@code from} to {@code to} (one direction). */
    void cutOneWay(String from, String to) {
        cut.add(from + ">" + to);
    }

    void cutBoth(String a, String b) {
        cutOneWay(a, b);
        cutOneWay(b, a);
    }

    void isolate(String id, Collection<String> all) {
        for (String o : all) {
            if (!o.equals(id)) {
                cutBoth(id, o);
            }
        }
    }

    /** Splits into {@code side} and the rest: no traffic across. */
    void partition(Collection<String> side, Collection<String> all) {
        for (String a : side) {
            for (String b : all) {
                if (!side.contains(b)) {
                    cutBoth(a, b);
                }
            }
        }
    }

    /** {@code left} and {@code right} cannot talk to each other; {@code bridge} talks to both. */
    void bridge(Collection<String> left, Collection<String> right) {
        for (String a : left) {
            for (String b : right) {
                cutBoth(a, b);
            }
        }
    }

    void heal() {
        cut.clear();
    }

    void calm() {
        dropRate = 0;
        duplicateRate = 0;
        longDelayRate = 0;
        minDelayMs = 1;
        maxDelayMs = 5;
    }

    @Override
    public String toString() {
        return "cut=" + new java.util.TreeSet<>(cut) + " drop=" + dropRate + " dup=" + duplicateRate + " longDelay=" + longDelayRate;
    }

    /** Delivery delays for one sent message: empty = dropped; two entries = duplicated. */
    int[] delays(String from, String to) {
        if (!connected(from, to) || rnd.nextDouble() < dropRate) {
            return new int[0];
        }
        int copies = rnd.nextDouble() < duplicateRate ? 2 : 1;
        int[] d = new int[copies];
        for (int i = 0; i < copies; i++) {
            d[i] = rnd.nextDouble() < longDelayRate
                    ? 200 + rnd.nextInt(2001)
                    : minDelayMs + rnd.nextInt(Math.max(1, maxDelayMs - minDelayMs + 1));
        }
        return d;
    }
}
