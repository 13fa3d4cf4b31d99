package org.forestbus.raft.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.forestbus.raft.core.ProposalRejectedException;
import org.forestbus.raft.core.RaftConfig;

/**
 * One randomized simulation run per seed: random cluster shape and settings, a fault phase
 * (partitions of every kind, drop/duplicate/reorder, crashes, power loss, retention, leadership
 * transfers) under a client workload and readers, then a healed phase in which a new write
 * must be acknowledged within 20 maximum election timeouts.
 */
final class SimRunner {

    record Result(long seed, String shape, long events, long acks, long reads, List<String> violations, int violationCount,
                  boolean livenessFailure, long traceHash, long elections, long truncations, long resets, long membershipChanges,
                  long pipelinedReadies) {
    }

    static Result run(long seed) {
        return run(seed, false);
    }

    /** @param plantNoFsync run with a planted bug: fsync is a no-op on every node (the original's D1) */
    static Result run(long seed, boolean plantNoFsync) {
        return run(seed, plantNoFsync, false);
    }

    /**
     * @param plantEarlyDurable run with a planted pipelining bug: a pipelining leader counts its
     *                          own copy as durable as soon as it is written
     */
    static Result run(long seed, boolean plantNoFsync, boolean plantEarlyDurable) {
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int[] sizes = {1, 2, 3, 3, 3, 3, 4, 5, 5, 6, 7};
        int voters = sizes[r.nextInt(sizes.length)];
        int learners = r.nextInt(8) == 0 ? 1 : 0;
        int[] appendMsgs = {1, 3, 16, 2500};
        int[] appendBytes = {40, 300, 1 << 20};
        int[] inflight = {1, 2, 4, 16};
        RaftConfig cfg = RaftConfig.DEFAULTS
                .withFlowControl(appendMsgs[r.nextInt(4)], appendBytes[r.nextInt(3)], inflight[r.nextInt(4)],
                        r.nextBoolean() ? 1 << 20 : 200)
                .withPreVote(r.nextInt(6) != 0, r.nextInt(6) != 0);
        int spares = r.nextInt(3) == 0 ? 1 : 0;
        SimCluster c = new SimCluster(seed, voters, learners, spares, cfg);
        int[] syncs = {0, 0, 3, 15, 60};
        c.maxSyncMs = syncs[r.nextInt(syncs.length)];
        if (plantNoFsync) {
            c.plantLyingFsync();
        }
        c.plantEarlyDurable = plantEarlyDurable;
        double[] drops = {0, 0, 0.05, 0.15, 0.3};
        c.net.dropRate = drops[r.nextInt(drops.length)];
        c.net.duplicateRate = r.nextInt(3) == 0 ? 0.1 : 0;
        c.net.maxDelayMs = r.nextBoolean() ? 5 : 27;
        c.net.longDelayRate = r.nextInt(4) == 0 ? 0.1 : 0;
        String shape = voters + "v" + learners + "l" + spares + "s";
        c.trace("shape " + shape + " " + cfg + " maxSyncMs=" + c.maxSyncMs + " net " + c.net);

        long faultEnd = 3000 + r.nextInt(5000);
        int clients = 1 + r.nextInt(3);
        List<String> dead = new ArrayList<>();
        // client loop
        Runnable[] client = new Runnable[1];
        client[0] = () -> {
            c.expireWrites(3000);
            if (c.pendingWrites() < clients) {
                SimNode target = r.nextInt(10) == 0 ? c.node(c.ids.get(r.nextInt(c.ids.size()))) : c.leader();
                if (target != null) {
                    c.propose(target, 1 + r.nextInt(r.nextBoolean() ? 3 : 20));
                }
            }
            c.at(5 + r.nextInt(50), client[0]);
        };
        c.at(1, client[0]);
        Runnable[] reader = new Runnable[1];
        reader[0] = () -> {
            c.read(c.node(c.ids.get(r.nextInt(c.ids.size()))));
            c.at(10 + r.nextInt(40), reader[0]);
        };
        c.at(1, reader[0]);
        Runnable[] faults = new Runnable[1];
        faults[0] = () -> {
            if (c.now >= faultEnd) {
                return;
            }
            fault(c, r, dead);
            if (SimCluster.TRACE) {
                c.trace("net " + c.net);
            }
            c.at(100 + r.nextInt(600), faults[0]);
        };
        c.at(200 + r.nextInt(800), faults[0]);
        c.runUntil(faultEnd);

        // heal everything; a write must commit within 20 max election timeouts
        c.trace("HEAL: fault phase over");
        c.net.heal();
        c.net.calm();
        for (String id : c.ids) {
            c.restart(id);
        }
        long healedAt = c.now;
        long bound = 20L * (cfg.electionTicks() + cfg.electionJitterTicks()) * SimCluster.TICK_MS;
        // a write committed in its term after the heal (acknowledged or not: see lastCommitTime)
        boolean live = c.runUntil(() -> c.lastCommitTime > healedAt, bound);
        c.runFor(200);
        c.checker.finalCheck(c.nodes.values());
        if (!live && Boolean.getBoolean("sim.debug")) {
            for (SimNode n : c.nodes.values()) {
                System.out.println("  " + n.core + " alive=" + n.alive + " voters=" + n.core.voters() + " learners="
                        + n.core.learners() + " membership=" + n.core.membership() + " outstanding=" + (n.outstanding != null));
                for (String p : c.ids) {
                    System.out.println("     progress " + p + " " + n.core.progressOf(p));
                }
            }
        }
        return new Result(seed, shape, c.events, c.acks, c.checker.reads, c.checker.violations(), c.checker.violationCount(), !live, c.traceHash(),
                c.checker.elections, c.checker.truncations, c.checker.resets, c.membershipChanges, c.pipelinedReadies);
    }

    /** A random single-server change proposed on the leader (refusals are expected and ignored). */
    private static void changeMembership(SimCluster c, SplittableRandom r, SimNode lead) {
        List<String> v = new ArrayList<>(lead.core.voters());
        List<String> l = new ArrayList<>(lead.core.learners());
        List<String> outside = new ArrayList<>();
        for (String id : c.ids) {
            if (!v.contains(id) && !l.contains(id)) {
                outside.add(id);
            }
        }
        switch (r.nextInt(4)) {
            case 0 -> {
                if (!outside.isEmpty()) {
                    l.add(outside.get(r.nextInt(outside.size())));
                }
            }
            case 1 -> {
                if (!l.isEmpty()) {
                    String x = l.remove(r.nextInt(l.size()));
                    v.add(x);
                }
            }
            case 2 -> {
                if (v.size() > 1) {
                    v.remove(r.nextInt(v.size()));
                }
            }
            default -> {
                if (!l.isEmpty()) {
                    l.remove(r.nextInt(l.size()));
                }
            }
        }
        try {
            lead.core.proposeMembership(v, l);
            c.membershipChanges++;
        } catch (ProposalRejectedException | IllegalArgumentException e) {
            // uncommitted previous change, lagging learner, no change: fine
        }
        c.drain(lead);
    }

    private static void fault(SimCluster c, SplittableRandom r, List<String> dead) {
        List<String> ids = c.ids;
        String x = ids.get(r.nextInt(ids.size()));
        SimNode lead = c.leader();
        switch (r.nextInt(18)) {
            case 0, 1 -> c.net.heal();
            case 2 -> c.net.isolate(lead != null && r.nextBoolean() ? lead.id : x, ids);
            case 3 -> {
                List<String> side = new ArrayList<>();
                for (String id : ids) {
                    if (r.nextBoolean()) {
                        side.add(id);
                    }
                }
                c.net.partition(side, ids);
            }
            case 4 -> c.net.cutOneWay(x, ids.get(r.nextInt(ids.size())));
            case 5 -> {
                if (ids.size() >= 3) {
                    // bridge: x talks to everyone; the others split in two halves that cannot talk
                    List<String> a = new ArrayList<>();
                    List<String> b = new ArrayList<>();
                    for (String id : ids) {
                        if (!id.equals(x)) {
                            (r.nextBoolean() ? a : b).add(id);
                        }
                    }
                    c.net.bridge(a, b);
                }
            }
            case 6, 7 -> {
                if (c.node(x).alive) {
                    if (r.nextBoolean()) {
                        c.crash(x);
                    } else {
                        c.powerLoss(x);
                    }
                    c.at(100 + r.nextInt(2000), () -> c.restart(x));
                }
            }
            case 8 -> {
                if (lead != null && r.nextBoolean()) {
                    c.powerLoss(lead.id);
                    c.at(100 + r.nextInt(1500), () -> c.restart(lead.id));
                }
            }
            case 9, 10 -> {
                SimNode n = c.node(x);
                if (n.alive && n.exposedCommit > n.log.firstIndex()) {
                    c.retain(x, n.log.firstIndex() + 1 + r.nextLong(n.exposedCommit - n.log.firstIndex() + 1));
                }
            }
            case 11 -> {
                if (lead != null && lead.outstanding == null) {
                    List<String> v = lead.core.voters();
                    lead.core.transferLeadership(v.get(r.nextInt(v.size())));
                    c.drain(lead);
                }
            }
            case 12 -> c.net.dropRate = r.nextInt(3) == 0 ? 0.3 : 0.05;
            case 13 -> c.net.longDelayRate = r.nextBoolean() ? 0.2 : 0;
            case 16, 17 -> {
                if (lead != null && lead.outstanding == null) {
                    changeMembership(c, r, lead);
                }
            }
            case 14, 15 -> {
                // power loss of a follower in the middle of an fsync, quick restart; sometimes the
                // leader is cut off at the same moment so the others must elect without it
                List<String> syncing = new ArrayList<>();
                for (String id : ids) {
                    SimNode n = c.node(id);
                    if (n.alive && n.outstanding != null && n != lead) {
                        syncing.add(id);
                    }
                }
                if (!syncing.isEmpty()) {
                    String id = syncing.get(r.nextInt(syncing.size()));
                    c.powerLoss(id);
                    c.at(20 + r.nextInt(200), () -> c.restart(id));
                    if (lead != null && r.nextBoolean()) {
                        c.net.isolate(lead.id, ids);
                    }
                }
            }
            default -> {
            }
        }
    }
}
