package org.forestbus.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.forestbus.raft.core.MessageType;
import org.forestbus.raft.core.ProposalRejectedException;
import org.forestbus.raft.core.RaftNode.State;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Named, scripted scenarios (RELIABILITY §3 minimum); the invariant checker runs throughout. */
class ScenarioTest {
    private ManualNet net;

    @AfterEach
    void noViolations() {
        if (net != null) {
            assertThat(net.checker.violations()).as("invariant violations").isEmpty();
        }
    }

    /** Campaigns until {@code id} leads (a first attempt may only teach it the current term). */
    private void elect(String id) {
        for (int i = 0; i < 3 && net.core(id).state() != State.LEADER; i++) {
            net.campaign(id);
        }
        leads(id);
    }

    private void leads(String id) {
        assertThat(net.core(id).state()).as(id + " state").isEqualTo(State.LEADER);
    }

    /**
     * The old leader commits and tells only n2; n3 holds the entries but never hears the commit,
     * and then wins the next election. It learns the commit index from n2's acknowledgements, so
     * the acknowledged messages are readable on the new leader with no write of its term.
     */
    @Test
    void aNewLeaderThatMissedTheCommitLearnsItFromItsFollowers() {
        net = new ManualNet(3, 0, ManualNet.config(false));
        net.campaign("n1");
        leads("n1");
        net.holdIf = m -> m.to().equals("n3") && (m.type() == MessageType.COMMIT || m.type() == MessageType.HEARTBEAT);
        net.propose("n1", 3);
        net.stabilize();
        assertThat(net.core("n1").commitIndex()).isEqualTo(3);
        assertThat(net.core("n2").commitIndex()).isEqualTo(3);
        assertThat(net.terms("n3")).containsExactly(1L, 1L, 1L);
        assertThat(net.core("n3").commitIndex()).as("n3 never heard the commit").isZero();

        net.crash("n1");
        net.holdIf = null;
        elect("n3");
        net.stabilize();
        assertThat(net.core("n3").commitIndex()).as("new leader's commit, no write of its term").isEqualTo(3);
    }

    /**
     * Raft paper Figure 8: an entry of an earlier term stored on a majority is not committed by
     * counting replicas, because a node with a later-term entry can still win and overwrite it.
     */
    @Test
    void figure8OldTermEntryOnMajorityIsNotCommittedAndMayBeOverwritten() {
        net = new ManualNet(5, 0, ManualNet.config(false));
        net.campaign("n1");
        leads("n1"); // term 1, empty log
        // (a) n1 writes index 1 in term 1; only n2 gets it
        for (String o : List.of("n3", "n4", "n5")) {
            net.cut("n1", o);
        }
        net.propose("n1", 1);
        net.stabilize();
        assertThat(net.terms("n2")).containsExactly(1L);
        // (b) n1 crashes; n5 wins term 2 with n3, n4 and writes its own index 1 (term 2) alone
        net.crash("n1");
        net.heal();
        net.cut("n5", "n2");
        net.campaign("n5");
        leads("n5");
        for (String o : List.of("n2", "n3", "n4")) {
            net.cut("n5", o);
        }
        net.propose("n5", 1);
        net.stabilize();
        long t2 = net.core("n5").term();
        // (c) n5 crashes; n1 restarts and wins term 3 with n2, n3; replicates index 1 (term 1) to n3
        net.crash("n5");
        net.heal();
        net.restart("n1");
        net.cut("n1", "n4");
        elect("n1");
        net.stabilize();
        assertThat(net.terms("n3")).containsExactly(1L);
        // index 1 (term 1) is on n1, n2, n3 = a majority, but it is not of n1's term: not committed
        assertThat(net.core("n1").commitIndex()).isZero();
        // (d) n1 crashes; n5 (last term 2) wins with n2, n3, n4 and overwrites index 1
        net.crash("n1");
        net.heal();
        net.restart("n5");
        elect("n5");
        net.propose("n5", 1);
        net.stabilize();
        for (String id : List.of("n2", "n3", "n4", "n5")) {
            assertThat(net.terms(id)).as(id).startsWith(t2);
            assertThat(net.core(id).commitIndex()).as(id + " commit").isEqualTo(2);
        }
    }

    /** Figure 8 (e): once the new leader commits an entry of its own term, the older entry is committed with it. */
    @Test
    void figure8CurrentTermEntryCommitsThePreviousOnes() {
        net = new ManualNet(5, 0, ManualNet.config(false));
        net.campaign("n1");
        for (String o : List.of("n3", "n4", "n5")) {
            net.cut("n1", o);
        }
        net.propose("n1", 1);
        net.stabilize();
        net.heal();
        net.campaign("n2"); // n2 holds index 1 too; wins term 2
        leads("n2");
        net.stabilize();
        assertThat(net.core("n2").commitIndex()).as("no commit without an entry of term 2").isZero();
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.core("n2").commitIndex()).isEqualTo(2);
        assertThat(net.terms("n5")).containsExactly(1L, 2L);
    }

    /**
     * Seed 48367: a candidate of term 1 wins, long after the fact, with a vote reply delayed in
     * the network, while a leader of term 2 has already committed index 1. A leader of an older
     * term lacking an entry committed in a later term is allowed by Leader Completeness (§5.4
     * speaks of higher-numbered terms only); the stale leader commits nothing and steps down at
     * the first reply. The checker used to flag it as a violation.
     */
    @Test
    void staleTermCandidateElectedByDelayedVoteLacksNewerCommitsAndStepsDown() {
        net = new ManualNet(3, 0, ManualNet.config(false));
        net.cut("n1", "n3");
        net.holdIf = m -> m.type() == MessageType.VOTE_RESP && m.from().equals("n2") && !m.reject();
        net.campaign("n1");
        assertThat(net.core("n1").state()).isEqualTo(State.CANDIDATE);
        assertThat(net.core("n1").term()).isEqualTo(1);
        // n2 wins term 2 with n3 while n1 is cut off, and commits index 1
        net.isolate("n1");
        elect("n2");
        assertThat(net.core("n2").term()).isEqualTo(2);
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.core("n2").commitIndex()).isEqualTo(1);
        // the delayed term-1 vote arrives: n1 leads term 1 with an empty log
        net.heal();
        net.holdIf = m -> m.from().equals("n1") && m.type() != MessageType.VOTE_RESP; // n1's appends are late as well
        net.release();
        leads("n1");
        assertThat(net.core("n1").term()).isEqualTo(1);
        assertThat(net.core("n1").lastIndex()).isZero();
        // its appends reach the others: they answer with term 2 and n1 follows n2
        net.holdIf = null;
        net.release();
        assertThat(net.core("n1").state()).isEqualTo(State.FOLLOWER);
        assertThat(net.core("n1").term()).isEqualTo(2);
        net.tick("n2", 2); // a heartbeat ends n2's probe pause towards n1
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.terms("n1")).containsExactly(2L, 2L);
        assertThat(net.core("n1").commitIndex()).isEqualTo(2);
    }

    /** A leader cut off with its uncommitted tail rejoins, steps down and truncates that tail (MIT TestRejoin). */
    @Test
    void partitionedOldLeaderRejoinsAndTruncatesItsUncommittedTail() {
        net = new ManualNet(5, 0, ManualNet.config(false));
        net.campaign("n1");
        net.propose("n1", 2);
        net.stabilize();
        assertThat(net.core("n1").commitIndex()).isEqualTo(2);
        net.isolate("n1");
        net.propose("n1", 3); // indexes 3..5, never committed
        net.propose("n1", 1);
        net.stabilize();
        leads("n1"); // no CheckQuorum: it still believes it leads
        net.campaign("n2");
        leads("n2");
        net.propose("n2", 2); // indexes 3..4 in term 2
        net.stabilize();
        assertThat(net.core("n2").commitIndex()).isEqualTo(4);
        net.heal();
        net.tick("n2", 2); // heartbeat: n1 learns term 2
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.core("n1").state()).isEqualTo(State.FOLLOWER);
        assertThat(net.terms("n1")).isEqualTo(net.terms("n2"));
        assertThat(net.core("n1").commitIndex()).isEqualTo(5);
        assertThat(net.checker.truncations).isPositive();
    }

    /** CheckQuorum: an isolated leader steps down within an election timeout and refuses proposals. */
    @Test
    void isolatedLeaderStepsDownWithCheckQuorum() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        leads("n1");
        net.isolate("n1");
        net.tick("n1", 10);
        assertThat(net.core("n1").state()).isEqualTo(State.FOLLOWER);
        assertThatThrownBy(() -> net.propose("n1", 1)).isInstanceOf(ProposalRejectedException.class);
        // the majority side elects a new leader once its lease runs out
        net.tickAll(30);
        assertThat(net.core("n2").state() == State.LEADER || net.core("n3").state() == State.LEADER).isTrue();
    }

    /** Leader lease + PreVote: a partitioned follower that rejoins does not disrupt the leader or raise terms. */
    @Test
    void rejoiningFollowerDoesNotDisruptTheLeader() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        long term = net.core("n1").term();
        net.isolate("n3");
        net.tick("n3", 100); // campaigns repeatedly, PreVote never succeeds
        assertThat(net.core("n3").term()).isEqualTo(term);
        net.heal();
        net.tickAll(5);
        leads("n1");
        assertThat(net.core("n1").term()).isEqualTo(term);
    }

    /** Without CheckQuorum, a leader of a minority keeps its title but can never commit or acknowledge. */
    @Test
    void minorityLeaderCannotCommit() {
        net = new ManualNet(3, 0, ManualNet.config(false));
        net.campaign("n1");
        net.cut("n1", "n2");
        net.cut("n1", "n3");
        net.propose("n1", 1);
        net.tick("n1", 30);
        assertThat(net.core("n1").commitIndex()).isZero();
    }

    /** A follower behind the leader's first retained index is restarted at that index (RESET) and catches up. */
    @Test
    void followerBehindRetentionIsResetAndCatchesUp() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        net.propose("n1", 3);
        net.stabilize();
        net.crash("n3");
        for (int i = 0; i < 5; i++) {
            net.propose("n1", 4);
            net.stabilize();
        }
        long commit = net.core("n1").commitIndex();
        assertThat(commit).isEqualTo(23);
        net.n("n1").log.dropPrefix(15);
        net.n("n2").log.dropPrefix(10);
        net.restart("n3");
        net.tickAll(3);
        net.propose("n1", 1);
        net.stabilize();
        assertThat(net.checker.resets).isEqualTo(1);
        assertThat(net.n("n3").log.firstIndex()).isEqualTo(15);
        assertThat(net.terms("n3")).isEqualTo(net.terms("n1"));
        assertThat(net.core("n3").commitIndex()).isEqualTo(24);
    }

    /** A divergent ex-leader whose tail lies beyond the new leader's retention point is reset, dropping the tail. */
    @Test
    void divergentFollowerBehindRetentionIsReset() {
        net = new ManualNet(3, 0, ManualNet.config(false));
        net.campaign("n1");
        net.propose("n1", 2);
        net.stabilize();
        net.isolate("n1");
        net.propose("n1", 5); // 3..7 uncommitted
        net.campaign("n2");
        leads("n2");
        for (int i = 0; i < 4; i++) {
            net.propose("n2", 3);
            net.stabilize();
        }
        net.n("n2").log.dropPrefix(10);
        net.heal();
        net.tick("n2", 2);
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.n("n1").log.firstIndex()).isEqualTo(10);
        assertThat(net.terms("n1")).isEqualTo(net.terms("n2"));
        assertThat(net.checker.resets).isEqualTo(1);
    }

    /** Leadership transfer: proposals refused meanwhile; the target catches up, gets TIMEOUT_NOW and wins. */
    @Test
    void leadershipTransferToLaggingFollower() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        net.cut("n1", "n3");
        net.propose("n1", 3);
        net.stabilize();
        net.heal();
        net.core("n1").transferLeadership("n3");
        assertThat(net.core("n1").leadTransferee()).isEqualTo("n3");
        assertThatThrownBy(() -> net.propose("n1", 1))
                .isInstanceOfSatisfying(ProposalRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(ProposalRejectedException.Reason.TRANSFERRING_LEADERSHIP));
        net.stabilize();
        leads("n3");
        assertThat(net.core("n1").state()).isEqualTo(State.FOLLOWER);
        net.propose("n3", 1);
        net.stabilize();
        assertThat(net.core("n1").commitIndex()).isEqualTo(4);
    }

    /** A transfer to an unreachable node is abandoned after an election timeout; proposals resume. */
    @Test
    void leadershipTransferTimesOut() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        net.isolate("n3");
        net.core("n1").transferLeadership("n3");
        net.tick("n1", 10);
        assertThat(net.core("n1").leadTransferee()).isNull();
        net.propose("n1", 1);
        net.stabilize();
        assertThat(net.core("n1").commitIndex()).isEqualTo(1);
    }

    /** Even cluster sizes: n/2 copies are not a majority; n/2+1 are (fixes the original's D2). */
    @ParameterizedTest
    @ValueSource(ints = {2, 4, 6})
    void evenClusterNeedsMoreThanHalf(int size) {
        net = new ManualNet(size, 0, ManualNet.config(false));
        net.campaign("n1");
        leads("n1");
        // leader + (size/2 - 1) followers reachable = exactly half
        for (int i = size / 2 + 1; i <= size; i++) {
            net.cut("n1", "n" + i);
        }
        net.propose("n1", 1);
        net.stabilize();
        assertThat(net.core("n1").commitIndex()).as("half of %d is not a majority", size).isZero();
        net.heal();
        for (int i = size / 2 + 2; i <= size; i++) {
            net.cut("n1", "n" + i);
        }
        net.tick("n1", 2); // heartbeat reaches one more follower, which then catches up
        net.stabilize();
        assertThat(net.core("n1").commitIndex()).as("half + 1 of %d", size).isEqualTo(1);
    }

    /** Learners get the log but never vote, never campaign and never count toward commit. */
    @Test
    void learnerReplicatesButDoesNotCount() {
        net = new ManualNet(3, 1, ManualNet.config(false));
        net.campaign("n4");
        assertThat(net.core("n4").state()).isEqualTo(State.FOLLOWER);
        net.campaign("n1");
        net.propose("n1", 2);
        net.stabilize();
        assertThat(net.terms("n4")).hasSize(2);
        assertThat(net.core("n4").commitIndex()).isEqualTo(2);
        net.cut("n1", "n2");
        net.cut("n1", "n3");
        net.propose("n1", 1);
        net.stabilize();
        assertThat(net.terms("n4")).hasSize(3);
        assertThat(net.core("n1").commitIndex()).as("leader + learner is no majority").isEqualTo(2);
    }

    /** Single voter: commits as soon as its own append is durable. */
    @Test
    void singleNodeCommitsAlone() {
        net = new ManualNet(1, 0, ManualNet.config(true));
        net.campaign("n1");
        leads("n1");
        net.propose("n1", 3);
        net.stabilize();
        assertThat(net.core("n1").commitIndex()).isEqualTo(3);
        net.tick("n1", 50);
        leads("n1"); // CheckQuorum counts itself
    }

    /** Whole-cluster restart: the persisted commit index lets readers see committed data at once. */
    @Test
    void fullRestartKeepsCommitIndex() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        net.propose("n1", 4);
        net.stabilize();
        net.tick("n1", 2);
        for (String id : List.of("n1", "n2", "n3")) {
            net.crash(id);
        }
        for (String id : List.of("n1", "n2", "n3")) {
            net.restart(id);
            assertThat(net.core(id).commitIndex()).as(id).isEqualTo(4);
        }
    }

    /** Power loss drops unsynced entries; the node comes back with its persisted term and vote. */
    @Test
    void powerLossKeepsHardStateAndSyncedEntries() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        net.propose("n1", 2);
        net.stabilize();
        long term = net.core("n2").term();
        net.n("n2").powerLoss();
        net.restart("n2");
        assertThat(net.core("n2").term()).isEqualTo(term);
        assertThat(net.core("n2").hardState().votedFor()).isEqualTo("n1");
        assertThat(net.terms("n2")).hasSize(2);
    }

    // ---------------------------------------------------------------- membership

    /** Add a new node as learner, let it catch up, promote it; the quorum grows to 3 of 4. */
    @Test
    void addLearnerThenPromoteToVoter() {
        net = new ManualNet(3, 0, 1, ManualNet.config(true));
        net.campaign("n1");
        net.propose("n1", 3);
        net.stabilize();
        long c1 = net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of("n4"));
        assertThat(net.core("n1").termAt(c1)).isEqualTo(net.core("n1").term());
        net.stabilize();
        assertThat(net.core("n4").learners()).containsExactly("n4");
        assertThat(net.terms("n4")).isEqualTo(net.terms("n1"));
        assertThat(net.core("n4").commitIndex()).isEqualTo(c1);
        net.core("n1").proposeMembership(List.of("n1", "n2", "n3", "n4"), List.of());
        net.stabilize();
        assertThat(net.core("n3").voters()).containsExactly("n1", "n2", "n3", "n4");
        // 2 of 4 voters is no longer a majority
        net.cut("n1", "n3");
        net.cut("n1", "n4");
        net.propose("n1", 1);
        net.stabilize();
        long before = net.core("n1").commitIndex();
        assertThat(before).isLessThan(net.core("n1").lastIndex());
        net.heal();
        net.tick("n1", 2);
        assertThat(net.core("n1").commitIndex()).isEqualTo(net.core("n1").lastIndex());
    }

    /** A second change is refused until the first is committed; so is a change before the leader commits in its term. */
    @Test
    void oneChangeAtATime() {
        net = new ManualNet(3, 0, 2, ManualNet.config(true));
        net.campaign("n1");
        assertThatThrownBy(() -> net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of("n4")))
                .as("no entry of the current term committed yet")
                .isInstanceOfSatisfying(ProposalRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(ProposalRejectedException.Reason.CONFIG_CHANGE_PENDING));
        net.propose("n1", 1);
        net.stabilize();
        net.isolate("n1");
        net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of("n4"));
        assertThatThrownBy(() -> net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of("n4", "n5")))
                .isInstanceOf(ProposalRejectedException.class);
        assertThatThrownBy(() -> net.core("n1").proposeMembership(List.of("n1", "n2"), List.of("n4", "n5")))
                .isInstanceOf(ProposalRejectedException.class);
        net.heal();
        net.tick("n1", 2);
        assertThatThrownBy(() -> net.core("n1").proposeMembership(List.of("n1"), List.of()))
                .as("two voters at once").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> net.core("n1").proposeMembership(List.of("n1", "n2", "n3", "n5"), List.of("n4")))
                .as("a voter must come in as a caught-up learner").isInstanceOf(IllegalArgumentException.class);
    }

    /** A lagging learner is not promoted. */
    @Test
    void laggingLearnerIsNotPromoted() {
        net = new ManualNet(3, 1, ManualNet.config(true));
        net.campaign("n1");
        net.cut("n1", "n4");
        net.propose("n1", 3);
        net.stabilize();
        assertThatThrownBy(() -> net.core("n1").proposeMembership(List.of("n1", "n2", "n3", "n4"), List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("caught up");
    }

    /** The leader removes itself: it keeps leading until the removal commits, then steps down and never campaigns. */
    @Test
    void leaderRemovesItself() {
        net = new ManualNet(3, 0, ManualNet.config(true));
        net.campaign("n1");
        net.propose("n1", 1);
        net.stabilize();
        long c = net.core("n1").proposeMembership(List.of("n2", "n3"), List.of());
        net.stabilize();
        assertThat(net.core("n2").commitIndex()).isGreaterThanOrEqualTo(c);
        assertThat(net.core("n1").state()).isEqualTo(State.FOLLOWER);
        net.tickAll(40);
        assertThat(net.core("n2").state() == State.LEADER || net.core("n3").state() == State.LEADER).isTrue();
        assertThat(net.core("n1").state()).isEqualTo(State.FOLLOWER);
        assertThat(net.core("n1").term()).isLessThan(net.core("n2").term());
    }

    /** A removed leader that lost leadership before its removal committed campaigns to finish it (thesis Fig. 4.6). */
    @Test
    void removedLeaderFinishesItsRemovalWhenNeeded() {
        net = new ManualNet(2, 0, ManualNet.config(false));
        net.campaign("n1");
        net.propose("n1", 1);
        net.stabilize();
        net.isolate("n1");
        net.core("n1").proposeMembership(List.of("n2"), List.of());
        net.propose("n1", 1); // a leader being removed still takes writes until the removal commits
        net.crash("n1");
        net.restart("n1");
        net.heal();
        // n2 still has the old config {n1, n2} and a shorter log: it cannot win; n1 must campaign
        net.campaign("n2");
        assertThat(net.core("n2").state()).isNotEqualTo(State.LEADER);
        net.campaign("n1");
        net.stabilize();
        assertThat(net.core("n2").voters()).containsExactly("n2");
        assertThat(net.core("n1").state()).isEqualTo(State.FOLLOWER);
        net.campaign("n2");
        leads("n2");
    }

    /** An uncommitted configuration is undone when its carrier entry is truncated. */
    @Test
    void truncatedConfigurationIsUndone() {
        net = new ManualNet(3, 0, 1, ManualNet.config(false));
        net.campaign("n1");
        net.propose("n1", 1);
        net.stabilize();
        net.cut("n1", "n3");
        net.cut("n2", "n3");
        net.cut("n1", "n4");
        net.cut("n2", "n4");
        net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of("n4"));
        net.flush();
        net.dropAll(); // n2 never gets it
        assertThat(net.core("n1").learners()).containsExactly("n4");
        net.isolate("n1");
        net.heal();
        net.isolate("n1");
        elect("n2");
        net.propose("n2", 1);
        net.stabilize();
        net.heal();
        net.tick("n2", 2);
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.core("n1").learners()).isEmpty();
        assertThat(net.core("n1").membership()).hasSize(1);
        assertThat(net.terms("n1")).isEqualTo(net.terms("n2"));
    }

    /**
     * Seed 38811: an ex-leader's uncommitted self-removal lies below the new leader's retention
     * point; the RESET discards that entry and must discard its configuration with it (it used
     * to survive because only configurations at or above F were dropped, leaving the node sure
     * it had been removed: it never campaigned again).
     */
    @Test
    void resetDiscardsConfigurationsOfDivergentEntriesBelowTheResetPoint() {
        net = new ManualNet(3, 0, ManualNet.config(false));
        elect("n3");
        net.propose("n3", 1);
        net.stabilize();
        net.isolate("n3");
        net.core("n3").proposeMembership(List.of("n1", "n2"), List.of()); // index 2, n3 alone
        net.flush();
        assertThat(net.core("n3").voters()).containsExactly("n1", "n2");
        net.crash("n3");
        net.restart("n3");
        net.isolate("n3");
        elect("n2");
        for (int i = 0; i < 3; i++) {
            net.propose("n2", 2);
            net.stabilize();
        }
        assertThat(net.core("n2").commitIndex()).isEqualTo(7);
        net.n("n2").log.dropPrefix(5);
        net.heal();
        net.tick("n2", 2);
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.checker.resets).isEqualTo(1);
        assertThat(net.terms("n3")).isEqualTo(net.terms("n2"));
        assertThat(net.core("n3").voters()).containsExactly("n1", "n2", "n3");
        assertThat(net.core("n3").membership()).hasSize(1);
        // and it can lead again
        net.isolate("n2");
        elect("n3");
    }

    /**
     * A learner's promotion reaches only the other voter before the leader dies: the survivor
     * needs the learner's vote, and the learner (a voter only in the others' configuration)
     * must grant it once it has not heard from a leader for an election timeout. It used to
     * renew its leader lease by itself at every timeout (it cannot campaign, so its election
     * timer was just restarted) and ignored every vote request for ever.
     */
    @Test
    void nonCampaigningFollowerLeaseExpiresSoAPromotionLostWithItsLeaderStaysLive() {
        net = new ManualNet(2, 1, ManualNet.config(true));
        net.campaign("n1");
        net.propose("n1", 1);
        net.stabilize();
        assertThat(net.core("n3").commitIndex()).isEqualTo(1);
        net.cut("n1", "n3");
        net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of());
        net.stabilize();
        assertThat(net.core("n2").voters()).containsExactly("n1", "n2", "n3");
        assertThat(net.core("n3").learners()).containsExactly("n3");
        net.crash("n1");
        net.heal();
        // n2 campaigns at every tick of n3 until n3 grants its pre-vote; its vote request is
        // delivered a few ticks later (in the simulation, disks and network spread the two)
        net.holdIf = m -> m.type() == MessageType.VOTE;
        for (int i = 0; i < 3 * 14 && net.core("n2").state() != State.CANDIDATE; i++) {
            net.tick("n3", 1);
            net.campaign("n2");
        }
        assertThat(net.core("n2").state()).isEqualTo(State.CANDIDATE);
        net.tick("n3", 5);
        net.holdIf = null;
        net.release();
        leads("n2");
        net.propose("n2", 1);
        net.stabilize();
        assertThat(net.core("n3").voters()).containsExactly("n1", "n2", "n3");
        assertThat(net.core("n2").commitIndex()).isEqualTo(3);
    }

    /** Configurations survive restarts; one whose carrier entry was lost to a power failure is dropped. */
    @Test
    void membershipSurvivesRestartButNotItsLostCarrier() {
        net = new ManualNet(3, 0, 1, ManualNet.config(true));
        net.campaign("n1");
        net.propose("n1", 1);
        net.stabilize();
        net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of("n4"));
        net.stabilize();
        net.crash("n2");
        net.restart("n2");
        assertThat(net.core("n2").learners()).containsExactly("n4");
        // a power failure that loses the carrier entry (never synced) also loses the configuration
        SimLog l = net.n("n3").log;
        l.lyingFsync = true;
        net.isolate("n3");
        net.n("n3").crash();
        l.truncateFrom(l.lastIndex()); // the unsynced carrier did not survive
        net.restart("n3");
        assertThat(net.core("n3").learners()).isEmpty();
    }

    /** A brand-new member (empty log) joining after retention is reset to the leader's first index. */
    @Test
    void newLearnerAfterRetentionIsReset() {
        net = new ManualNet(3, 0, 1, ManualNet.config(true));
        net.campaign("n1");
        for (int i = 0; i < 3; i++) {
            net.propose("n1", 4);
            net.stabilize();
        }
        net.n("n1").log.dropPrefix(9);
        long c = net.core("n1").proposeMembership(List.of("n1", "n2", "n3"), List.of("n4"));
        net.stabilize();
        net.tick("n1", 2);
        assertThat(net.n("n4").log.firstIndex()).isEqualTo(9);
        assertThat(net.terms("n4")).isEqualTo(net.terms("n1"));
        assertThat(net.core("n4").commitIndex()).isEqualTo(c);
        assertThat(net.checker.resets).isEqualTo(1);
    }
}
