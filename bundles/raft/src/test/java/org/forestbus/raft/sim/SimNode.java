package org.forestbus.raft.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.storage.HardState;
import org.forestbus.raft.core.Membership;
import org.forestbus.raft.core.Message;
import org.forestbus.raft.core.RaftConfig;
import org.forestbus.raft.core.RaftNode;
import org.forestbus.raft.core.Ready;

/**
 * One simulated server: a {@link RaftNode} over a {@link SimLog}, driven like the real driver
 * (persist a Ready, then send, then advance). A Ready can be left "syncing" so faults can hit
 * between the append and the fsync.
 */
final class SimNode {
    final String id;
    final SimLog log = new SimLog();
    final List<String> voters;
    final List<String> learners;
    final RaftConfig cfg;
    private final SplittableRandom rnd;
    private final SimChecker checker;
    RaftNode core;
    boolean alive = true;
    int incarnation;
    /** Commit index the driver exposed to readers (of the last advanced Ready). */
    long exposedCommit;
    long lastCoreCommit;
    long lastCoreTerm;
    Ready outstanding;

    SimNode(String id, List<String> voters, List<String> learners, RaftConfig cfg, long seed, SimChecker checker) {
        this.id = id;
        this.voters = voters;
        this.learners = learners;
        this.cfg = cfg;
        this.rnd = new SplittableRandom(seed);
        this.checker = checker;
        this.core = newCore();
        this.exposedCommit = core.commitIndex();
    }

    private RaftNode newCore() {
        List<Membership> saved = log.membership();
        return new RaftNode(id, saved != null ? saved : List.of(Membership.bootstrap(voters, learners)), cfg, log,
                log.hardState(), rnd.split());
    }

    /** Takes the next Ready and applies its log changes (appends unsynced). Returns false when there is none. */
    boolean beginReady() {
        if (!alive || outstanding != null || !core.hasReady()) {
            return false;
        }
        Ready rd = core.ready();
        outstanding = rd;
        if (rd.resetTo() != 0) {
            checker.onReset(this, rd.resetTo());
            log.resetTo(rd.resetTo());
        } else if (rd.truncateFrom() != 0) {
            checker.onTruncate(this, rd.truncateFrom());
            log.truncateFrom(rd.truncateFrom());
        }
        if (!rd.entries().isEmpty() && log.lastIndex() + 1 != rd.firstEntryIndex()) {
            checker.violation("node " + id + " Ready entries start at " + rd.firstEntryIndex() + " but log ends at " + log.lastIndex());
        }
        if (rd.membership() != null) {
            log.saveMembership(rd.membership()); // after reset/truncate, before the append (Ready order)
        }
        long idx = rd.firstEntryIndex();
        for (MessageBatch b : rd.entries()) {
            for (SimLog.Entry e : log.append(b)) {
                checker.onAppend(this, idx++, e);
            }
        }
        return true;
    }

    /** Completes the outstanding Ready: fsync, save hard state, advance. Returns the messages to send. */
    List<Message> completeReady() {
        Ready rd = outstanding;
        log.sync();
        if (rd.hardState() != null) {
            checker.onSaveHardState(this, rd.hardState());
            log.saveHardState(rd.hardState());
        }
        outstanding = null;
        core.advance(rd);
        if (rd.commitIndex() > log.lastIndex()) {
            checker.violation("node " + id + " exposes commit " + rd.commitIndex() + " beyond its durable log " + log.lastIndex());
        }
        long before = exposedCommit;
        exposedCommit = Math.max(exposedCommit, rd.commitIndex());
        checker.onExpose(this, before, exposedCommit, core.term());
        return new ArrayList<>(rd.messages());
    }

    /** Bumped by every non-pipelined Ready: background syncs issued before it report nothing. */
    long pipelineEpoch;

    /**
     * Completes the outstanding pipelinable Ready without waiting for its fsync (the real
     * driver's leader pipelining): entries stay unsynced until a background sync event;
     * messages go now; committed indexes are exposed now.
     */
    List<Message> completePipelined() {
        Ready rd = outstanding;
        if (rd.hardState() != null) {
            // as the real driver: the persisted commit index never exceeds the durable log here
            HardState hs = rd.hardState();
            long durableCommit = Math.max(Math.min(hs.commitIndex(), log.syncedLastIndex()), log.hardState().commitIndex());
            HardState saved = new HardState(hs.term(), hs.votedFor(), durableCommit);
            checker.onSaveHardState(this, saved);
            log.saveHardState(saved);
        }
        outstanding = null;
        core.advanceWritten(rd);
        long before = exposedCommit;
        exposedCommit = Math.max(exposedCommit, rd.commitIndex());
        checker.onExpose(this, before, exposedCommit, core.term());
        return new ArrayList<>(rd.messages());
    }

    /** Process crash: volatile state gone, unsynced entries survive in the page cache. */
    void crash() {
        alive = false;
        outstanding = null;
    }

    /** Power loss: like a crash, and a random suffix of the unsynced entries is lost. */
    void powerLoss() {
        crash();
        log.powerLoss(rnd);
    }

    void restart() {
        alive = true;
        incarnation++;
        outstanding = null;
        core = newCore();
        exposedCommit = core.commitIndex();
        lastCoreCommit = core.commitIndex();
        lastCoreTerm = core.term();
        checker.onRestart(this);
    }
}
