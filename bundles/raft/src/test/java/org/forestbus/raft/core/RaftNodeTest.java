package org.forestbus.raft.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.Role;
import org.forestbus.api.storage.HardState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rule tests named after the Raft paper's sentences and this core's documented decisions. */
class RaftNodeTest {
    static final RaftConfig CFG = RaftConfig.DEFAULTS.withElection(10, 4, 2).withPreVote(false, false);

    private MemLog log;
    private RaftNode node;

    private RaftNode create(String id, List<String> voters, RaftConfig cfg, MemLog l, HardState hs) {
        log = l;
        node = new RaftNode(id, voters, List.of(), cfg, l, hs, new SplittableRandom(1));
        return node;
    }

    /** Processes every Ready (persist into the MemLog) and returns all messages. */
    private List<Message> drain() {
        List<Message> out = new ArrayList<>();
        while (node.hasReady()) {
            Ready rd = node.ready();
            log.apply(rd);
            out.addAll(rd.messages());
            node.advance(rd);
        }
        return out;
    }

    private static Message msg(MessageType t, String from, String to, long term) {
        return Message.of(t, from, to, term);
    }

    private static Message vote(String from, long term, long lastIndex, long lastTerm) {
        return new Message(MessageType.VOTE, from, "a", term, lastIndex, lastTerm, MessageBatch.empty(), 0, false, 0, false);
    }

    private static Message append(String from, long term, long prev, long prevTerm, MessageBatch ents, long commit) {
        return new Message(MessageType.APPEND, from, "a", term, prev, prevTerm, ents, commit, false, 0, false);
    }

    private static Message appendResp(String from, String to, long term, long index) {
        return new Message(MessageType.APPEND_RESP, from, to, term, index, 0, MessageBatch.empty(), 0, false, 0, false);
    }

    private static MessageBatch batch(long... terms) {
        List<MessageBatch> parts = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < terms.length; i++) {
            payloads.add(new byte[] {(byte) i});
        }
        MessageBatch b = MessageBatch.of(payloads);
        // stamp each message with its own term
        for (int i = 0; i < terms.length; i++) {
            parts.add(b.slice(i, i + 1).stampTerm(terms[i]));
        }
        return b;
    }

    private RaftNode leaderOf(int voters) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < voters; i++) {
            ids.add(String.valueOf((char) ('a' + i)));
        }
        create("a", ids, CFG, new MemLog(), HardState.INITIAL);
        node.campaign();
        for (String v : ids.subList(1, ids.size())) {
            node.step(new Message(MessageType.VOTE_RESP, v, "a", 1, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        }
        drain();
        assertThat(node.state()).isEqualTo(RaftNode.State.LEADER);
        return node;
    }

    // ---------------------------------------------------------------- §5.2 elections

    @Test
    void candidateIncrementsTermVotesForItselfAndPersistsBeforeAskingForVotes() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.campaign();
        Ready rd = node.ready();
        assertThat(rd.hardState()).isEqualTo(new HardState(1, "a", 0));
        assertThat(rd.mustSaveHardState()).isTrue();
        assertThat(rd.messages()).extracting(Message::type).containsOnly(MessageType.VOTE);
        assertThat(rd.messages()).extracting(Message::to).containsExactly("b", "c");
        node.advance(rd);
    }

    @Test
    void electionTimeoutIsRandomizedWithinConfiguredRange() {
        List<Integer> seen = new ArrayList<>();
        for (int s = 0; s < 40; s++) {
            RaftNode n = new RaftNode("a", List.of("a", "b", "c"), List.of(), CFG, new MemLog(), HardState.INITIAL,
                    new SplittableRandom(s));
            int ticks = 0;
            while (n.state() == RaftNode.State.FOLLOWER) {
                n.tick();
                ticks++;
            }
            seen.add(ticks);
        }
        assertThat(seen).allMatch(t -> t >= 10 && t < 14);
        assertThat(seen.stream().distinct().count()).isGreaterThan(1);
    }

    @Test
    void voteGrantedOncePerTermAndPersistedInTheSameReady() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(vote("b", 1, 0, 0));
        Ready rd = node.ready();
        assertThat(rd.hardState()).isEqualTo(new HardState(1, "b", 0));
        assertThat(rd.messages()).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.VOTE_RESP);
            assertThat(m.reject()).isFalse();
        });
        node.advance(rd);
        node.step(vote("c", 1, 0, 0));
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isTrue());
        node.step(vote("b", 1, 0, 0)); // a repeated request gets the same answer
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isFalse());
    }

    @Test
    void voteRequiresUpToDateLogLastTermFirstThenIndex() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1, 2), new HardState(2, null, 0));
        node.step(vote("b", 3, 2, 2)); // same last term, shorter
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isTrue());
        node.step(vote("b", 4, 1, 3)); // higher last term, shorter log: up to date
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isFalse());
        node.step(vote("c", 5, 3, 2)); // same last term, same index
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isFalse());
        node.step(vote("b", 6, 9, 1)); // longer but lower last term
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isTrue());
    }

    @Test
    void staleTermVoteRequestIsRejectedWithoutStateChange() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), new HardState(5, null, 0));
        node.step(vote("b", 4, 10, 4));
        assertThat(node.term()).isEqualTo(5);
        assertThat(node.hardState().votedFor()).isNull();
    }

    @Test
    void candidateSeeingHigherTermBecomesFollowerOfThatTerm() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.campaign();
        drain();
        node.step(new Message(MessageType.VOTE_RESP, "b", "a", 7, 0, 0, MessageBatch.empty(), 0, true, 0, false));
        assertThat(node.state()).isEqualTo(RaftNode.State.FOLLOWER);
        assertThat(node.term()).isEqualTo(7);
        // a late grant of the old term does not make it leader (the original's D6)
        node.step(new Message(MessageType.VOTE_RESP, "c", "a", 1, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        assertThat(node.state()).isEqualTo(RaftNode.State.FOLLOWER);
    }

    @Test
    void candidateWithMajorityOfRejectionsReturnsToFollower() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.campaign();
        drain();
        node.step(new Message(MessageType.VOTE_RESP, "b", "a", 1, 0, 0, MessageBatch.empty(), 0, true, 0, false));
        assertThat(node.state()).isEqualTo(RaftNode.State.CANDIDATE);
        node.step(new Message(MessageType.VOTE_RESP, "c", "a", 1, 0, 0, MessageBatch.empty(), 0, true, 0, false));
        assertThat(node.state()).isEqualTo(RaftNode.State.FOLLOWER);
        assertThat(node.role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void preVoteDoesNotChangeTermUntilAMajorityWouldVote() {
        create("a", List.of("a", "b", "c"), CFG.withPreVote(true, true), new MemLog(), HardState.INITIAL);
        node.campaign();
        List<Message> out = drain();
        assertThat(out).extracting(Message::type).containsOnly(MessageType.PRE_VOTE);
        assertThat(out).extracting(Message::term).containsOnly(1L);
        assertThat(node.term()).isZero();
        assertThat(node.state()).isEqualTo(RaftNode.State.PRE_CANDIDATE);
        assertThat(node.role()).isEqualTo(Role.FOLLOWER);
        node.step(new Message(MessageType.PRE_VOTE_RESP, "b", "a", 1, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        assertThat(node.state()).isEqualTo(RaftNode.State.CANDIDATE);
        assertThat(node.term()).isEqualTo(1);
        assertThat(drain()).extracting(Message::type).containsOnly(MessageType.VOTE);
    }

    @Test
    void followerWithLeaseIgnoresVotesWithoutRaisingItsTerm() {
        create("a", List.of("a", "b", "c"), CFG.withPreVote(true, true), new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, MessageBatch.empty(), 0));
        drain();
        node.step(vote("c", 2, 5, 1));
        assertThat(drain()).isEmpty();
        assertThat(node.term()).isEqualTo(1);
        assertThat(node.leader()).isEqualTo("b");
    }

    @Test
    void learnerAndUnknownLastTermNeverCampaign() {
        RaftNode learner = new RaftNode("d", List.of("a", "b", "c"), List.of("d"), CFG, new MemLog(), HardState.INITIAL,
                new SplittableRandom(1));
        for (int i = 0; i < 100; i++) {
            learner.tick();
        }
        assertThat(learner.state()).isEqualTo(RaftNode.State.FOLLOWER);
        MemLog empty = new MemLog();
        empty.first = 50; // reset durable, entries lost: last term unknown
        create("a", List.of("a", "b", "c"), CFG, empty, new HardState(3, null, 0));
        assertThat(node.commitIndex()).as("below first index is committed").isEqualTo(49);
        node.campaign();
        assertThat(node.state()).isEqualTo(RaftNode.State.FOLLOWER);
        node.step(vote("b", 4, 60, 3));
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isTrue());
    }

    @Test
    void restartAdoptsLastEntryTermWhenHardStateLagged() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 3), new HardState(2, "b", 9));
        assertThat(node.term()).isEqualTo(3);
        assertThat(node.hardState().votedFor()).isNull();
        assertThat(node.commitIndex()).as("clamped to the durable log").isEqualTo(2);
    }

    // ---------------------------------------------------------------- §5.3 replication

    @Test
    void prevIndexZeroAlwaysMatchesAndRepairsAConflictingFirstEntry() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1), new HardState(1, null, 0));
        node.step(append("b", 2, 0, 0, batch(2), 0));
        List<Message> out = drain();
        assertThat(out).singleElement().satisfies(m -> {
            assertThat(m.reject()).isFalse();
            assertThat(m.index()).isEqualTo(1);
        });
        assertThat(log.lastIndex()).isEqualTo(1);
        assertThat(log.term(1)).isEqualTo(2);
    }

    @Test
    void followerCommitIsMinOfLeaderCommitAndLastVerifiedEntryNeverBeyond() {
        // follower has a stale longer tail 1..5 (term 1); leader (term 2) sends prev=1 with one entry
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1, 1, 1, 1), new HardState(1, null, 0));
        node.step(append("b", 2, 1, 1, batch(1), 9));
        drain();
        assertThat(node.commitIndex()).as("only up to the last verified entry (fixes D4)").isEqualTo(2);
        node.step(append("b", 2, 2, 1, MessageBatch.empty(), 1)); // lower leader commit: no regress
        drain();
        assertThat(node.commitIndex()).isEqualTo(2);
    }

    @Test
    void rejectedAppendDoesNotMoveCommitAndCarriesTermHint() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1, 2, 2, 2), new HardState(2, null, 0));
        node.step(append("b", 3, 5, 3, MessageBatch.empty(), 5));
        Message r = drain().get(0);
        assertThat(r.reject()).isTrue();
        assertThat(r.index()).isEqualTo(5);
        assertThat(r.rejectHint()).as("last index with term <= 3").isEqualTo(5);
        assertThat(r.logTerm()).isEqualTo(2);
        assertThat(node.commitIndex()).isZero();
        node.step(append("b", 3, 9, 3, MessageBatch.empty(), 5)); // beyond our log: hint = our last index
        r = drain().get(0);
        assertThat(r.reject()).isTrue();
        assertThat(r.rejectHint()).isEqualTo(5);
    }

    @Test
    void conflictingEntriesAreTruncatedFromTheFirstConflict() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1, 2, 2), new HardState(2, null, 1));
        node.step(append("b", 3, 1, 1, batch(1, 3), 1));
        Ready rd = node.ready();
        assertThat(rd.truncateFrom()).isEqualTo(3);
        assertThat(rd.firstEntryIndex()).isEqualTo(3);
        assertThat(rd.lastEntryIndex()).isEqualTo(3);
        log.apply(rd);
        node.advance(rd);
        assertThat(List.of(log.term(1), log.term(2), log.term(3))).containsExactly(1L, 1L, 3L);
    }

    @Test
    void appendBelowCommitIsAnsweredWithCommitAndNeverTouchesCommittedEntries() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1, 1), new HardState(1, null, 3));
        // a (stale or duplicated) append whose entries would conflict below our commit index
        node.step(append("b", 2, 1, 1, batch(2, 2), 3));
        Ready rd = node.ready();
        assertThat(rd.truncateFrom()).isZero();
        assertThat(rd.entries()).isEmpty();
        assertThat(rd.messages()).singleElement().satisfies(m -> {
            assertThat(m.reject()).isFalse();
            assertThat(m.index()).isEqualTo(3);
        });
        node.advance(rd);
        // same through a RESET whose first index is at or below our commit + 1
        node.step(new Message(MessageType.RESET, "b", "a", 2, 2, 0, batch(2, 2, 2), 3, false, 0, false));
        rd = node.ready();
        assertThat(rd.resetTo()).isZero();
        assertThat(rd.truncateFrom()).isZero();
        node.advance(rd);
    }

    @Test
    void duplicateAppendIsIdempotent() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, batch(1, 1), 2));
        drain();
        node.step(append("b", 1, 0, 0, batch(1, 1), 2));
        Ready rd = node.ready();
        assertThat(rd.entries()).isEmpty();
        assertThat(rd.truncateFrom()).isZero();
        log.apply(rd);
        node.advance(rd);
        assertThat(log.lastIndex()).isEqualTo(2);
        assertThat(node.commitIndex()).isEqualTo(2);
    }

    @Test
    void staleLeaderGetsOurTermBack() {
        create("a", List.of("a", "b", "c"), CFG.withPreVote(true, true), new MemLog(), new HardState(5, null, 0));
        node.step(append("b", 3, 0, 0, MessageBatch.empty(), 0));
        assertThat(drain()).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.APPEND_RESP);
            assertThat(m.term()).isEqualTo(5);
        });
        assertThat(node.leader()).isNull();
    }

    @Test
    void resetRestartsLogAtLeadersFirstIndex() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1, 1), new HardState(1, null, 2));
        node.step(new Message(MessageType.RESET, "b", "a", 2, 10, 0, batch(2, 2), 11, false, 0, false));
        Ready rd = node.ready();
        assertThat(rd.resetTo()).isEqualTo(10);
        assertThat(rd.firstEntryIndex()).isEqualTo(10);
        assertThat(rd.commitIndex()).isEqualTo(11);
        assertThat(rd.messages()).singleElement().satisfies(m -> assertThat(m.index()).isEqualTo(11));
        log.apply(rd);
        node.advance(rd);
        assertThat(log.firstIndex()).isEqualTo(10);
        assertThat(node.firstIndex()).isEqualTo(10);
    }

    @Test
    void resetKeepsLogWhenEntryAtFirstIndexMatches() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1, 1, 2, 2), new HardState(2, null, 1));
        node.step(new Message(MessageType.RESET, "b", "a", 2, 3, 0, batch(2, 2, 2), 4, false, 0, false));
        Ready rd = node.ready();
        assertThat(rd.resetTo()).isZero();
        assertThat(rd.firstEntryIndex()).isEqualTo(5);
        assertThat(rd.commitIndex()).isEqualTo(4);
        log.apply(rd);
        node.advance(rd);
    }

    // ---------------------------------------------------------------- leader side

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7})
    void leaderCommitsOnlyWithDurableMajority(int voters) {
        leaderOf(voters);
        long first = node.propose(MessageBatch.of(new byte[] {1}));
        assertThat(first).isEqualTo(1);
        Ready rd = node.ready();
        assertThat(rd.entries()).hasSize(1);
        assertThat(node.commitIndex()).as("not before the leader's own append is durable").isZero();
        log.apply(rd);
        node.advance(rd);
        int needed = voters / 2 + 1;
        for (int k = 1; k < voters; k++) {
            assertThat(node.commitIndex()).as("%d of %d acks", k, voters).isEqualTo(k >= needed ? 1 : 0);
            node.step(appendResp(String.valueOf((char) ('a' + k)), "a", 1, 1));
            drain();
        }
        assertThat(node.commitIndex()).isEqualTo(1);
    }

    @Test
    void leaderDoesNotCommitPreviousTermEntriesByCounting() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog().withTerms(1), new HardState(1, null, 0));
        node.campaign();
        node.step(new Message(MessageType.VOTE_RESP, "b", "a", 2, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        drain();
        node.step(appendResp("b", "a", 2, 1));
        node.step(appendResp("c", "a", 2, 1));
        drain();
        assertThat(node.commitIndex()).isZero();
        node.propose(MessageBatch.of(new byte[] {9}));
        drain();
        node.step(appendResp("b", "a", 2, 2));
        drain();
        assertThat(node.commitIndex()).isEqualTo(2);
    }

    @Test
    void proposalsRefusedWhenNotLeaderOrEmpty() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, MessageBatch.empty(), 0));
        drain();
        assertThatThrownBy(() -> node.propose(MessageBatch.of(new byte[] {1})))
                .isInstanceOfSatisfying(ProposalRejectedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ProposalRejectedException.Reason.NOT_LEADER);
                    assertThat(e.leader()).isEqualTo("b");
                });
        assertThatThrownBy(() -> node.propose(MessageBatch.empty())).isInstanceOf(ProposalRejectedException.class);
    }

    @Test
    void proposalStampsTermAndIsOneContiguousRange() {
        leaderOf(3);
        MessageBatch b = MessageBatch.of(List.of(new byte[] {1}, new byte[] {2}, new byte[] {3}));
        assertThat(node.propose(b)).isEqualTo(1);
        assertThat(b.term(0)).isEqualTo(1);
        assertThat(b.term(2)).isEqualTo(1);
        assertThat(node.propose(MessageBatch.of(new byte[] {4}))).isEqualTo(4);
        assertThat(node.lastIndex()).isEqualTo(4);
    }

    @Test
    void replicationRespectsByteCapAndInflightLimit() {
        RaftConfig cfg = CFG.withFlowControl(100, 40, 2, 1 << 20);
        create("a", List.of("a", "b"), cfg, new MemLog(), HardState.INITIAL);
        node.campaign();
        node.step(new Message(MessageType.VOTE_RESP, "b", "a", 1, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        drain();
        node.step(appendResp("b", "a", 1, 0)); // probe answered: replicate
        drain();
        for (int i = 0; i < 10; i++) {
            node.propose(MessageBatch.of(new byte[10])); // 27 bytes each
        }
        List<Message> out = drain();
        List<Message> apps = out.stream().filter(m -> m.type() == MessageType.APPEND && !m.entries().isEmpty()).toList();
        assertThat(apps).as("pipeline bounded by maxInflightAppends").hasSize(2);
        assertThat(apps).allMatch(m -> m.entries().count() == 1);
        node.step(appendResp("b", "a", 1, 2));
        out = drain();
        assertThat(out.stream().filter(m -> m.type() == MessageType.APPEND && !m.entries().isEmpty())).hasSize(2);
    }

    @Test
    void rejectionMovesNextBackUsingTheHint() {
        create("a", List.of("a", "b"), CFG, new MemLog().withTerms(1, 1, 1, 4, 4, 5, 5), new HardState(5, null, 0));
        node.campaign();
        node.step(new Message(MessageType.VOTE_RESP, "b", "a", 6, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        List<Message> out = drain();
        assertThat(out).anySatisfy(m -> assertThat(m.index()).isEqualTo(7));
        // follower's log: 1 1 1 2 2 2 2 3 3 ... hint: index 7 term 2 -> leader skips to index 3 (term 1 <= 2)
        node.step(new Message(MessageType.APPEND_RESP, "b", "a", 6, 7, 2, MessageBatch.empty(), 0, true, 7, false));
        out = drain();
        assertThat(out).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.APPEND);
            assertThat(m.index()).isEqualTo(3);
            assertThat(m.entries().count()).isEqualTo(4);
        });
    }

    @Test
    void leaderSendsResetWhenFollowerNeedsEntriesBelowFirstIndex() {
        MemLog l = new MemLog().withTerms(1, 1, 1, 1, 1);
        l.entries.subList(0, 3).clear();
        l.first = 4; // retention removed 1..3
        create("a", List.of("a", "b"), CFG, l, new HardState(1, null, 5));
        node.campaign();
        node.step(new Message(MessageType.VOTE_RESP, "b", "a", 2, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        drain();
        node.step(new Message(MessageType.APPEND_RESP, "b", "a", 2, 5, 0, MessageBatch.empty(), 0, true, 1, false));
        List<Message> out = drain();
        assertThat(out).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.RESET);
            assertThat(m.index()).isEqualTo(4);
            assertThat(m.entries().count()).isEqualTo(2);
        });
    }

    @Test
    void inputsAreRefusedWhileAReadyIsOutstanding() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.campaign();
        Ready rd = node.ready();
        assertThat(node.hasReady()).isFalse();
        assertThatThrownBy(node::tick).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(node::ready).isInstanceOf(IllegalStateException.class);
        node.advance(rd);
        assertThatThrownBy(() -> node.advance(rd)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void advanceDetectsAnUnpersistedReady() {
        leaderOf(3);
        node.propose(MessageBatch.of(new byte[] {1}));
        Ready rd = node.ready();
        assertThatThrownBy(() -> node.advance(rd)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void configValidation() {
        assertThatThrownBy(() -> RaftConfig.DEFAULTS.withElection(2, 1, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RaftConfig.DEFAULTS.withElection(5, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RaftConfig.DEFAULTS.withFlowControl(0, 1, 1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(RaftConfig.DEFAULTS.electionTicks()).isEqualTo(10);
        assertThatThrownBy(() -> Membership.bootstrap(List.of(), List.of("a"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Membership.bootstrap(List.of("a"), List.of("a"))).isInstanceOf(IllegalArgumentException.class);
        // a node outside the configuration (waiting to be added) runs but never campaigns
        RaftNode outsider = new RaftNode("x", List.of("a"), List.of(), CFG, new MemLog(), HardState.INITIAL,
                new SplittableRandom(1));
        for (int i = 0; i < 100; i++) {
            outsider.tick();
        }
        assertThat(outsider.state()).isEqualTo(RaftNode.State.FOLLOWER);
        assertThat(outsider.hasReady()).isFalse();
    }

    @Test
    void everyInputIsRefusedWhileAReadyIsOutstanding() {
        leaderOf(3);
        node.propose(MessageBatch.of(new byte[] {1}));
        Ready rd = node.ready();
        assertThatThrownBy(() -> node.step(appendResp("b", "a", 1, 1))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> node.propose(MessageBatch.of(new byte[] {2}))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(node::campaign).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> node.transferLeadership("b")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> node.proposeMembership(List.of("a", "b"), List.of())).isInstanceOf(IllegalStateException.class);
        log.apply(rd);
        node.advance(rd);
    }

    @Test
    void truncationInsideNotYetPersistedEntries() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, batch(1, 1, 1), 0));
        // before the Ready is taken, a leader of term 2 overwrites from index 2
        node.step(new Message(MessageType.APPEND, "c", "a", 2, 1, 1, batch(2), 0, false, 0, false));
        Ready rd = node.ready();
        assertThat(rd.truncateFrom()).isZero();
        assertThat(rd.firstEntryIndex()).isEqualTo(1);
        assertThat(rd.lastEntryIndex()).isEqualTo(2);
        log.apply(rd);
        node.advance(rd);
        assertThat(List.of(log.term(1), log.term(2))).containsExactly(1L, 2L);
        assertThat(node.termAt(2)).isEqualTo(2);
        assertThat(node.termAt(3)).isEqualTo(-1);
    }

    @Test
    void leaseIgnoresPreVoteUnlessTransferAndAnswersStalePreVote() {
        create("a", List.of("a", "b", "c"), CFG.withPreVote(true, true), new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, MessageBatch.empty(), 0));
        drain();
        node.step(new Message(MessageType.PRE_VOTE, "c", "a", 2, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        assertThat(drain()).as("in lease: ignored").isEmpty();
        node.step(new Message(MessageType.VOTE, "c", "a", 2, 0, 0, MessageBatch.empty(), 0, false, 0, true));
        assertThat(drain()).as("transfer bypasses the lease").singleElement()
                .satisfies(m -> assertThat(m.reject()).isFalse());
        assertThat(node.term()).isEqualTo(2);
        node.step(new Message(MessageType.PRE_VOTE, "b", "a", 1, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        assertThat(drain()).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.PRE_VOTE_RESP);
            assertThat(m.reject()).isTrue();
            assertThat(m.term()).isEqualTo(2);
        });
        for (int i = 0; i < 10; i++) {
            node.tick(); // lease runs out (no leader heard in term 2)
        }
        node.step(new Message(MessageType.PRE_VOTE, "b", "a", 3, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.reject()).isFalse());
        assertThat(node.term()).as("PreVote does not raise the term").isEqualTo(2);
    }

    @Test
    void candidateHearingLeaderOfItsTermFollowsAndAppends() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.campaign();
        drain();
        node.step(new Message(MessageType.APPEND, "b", "a", 1, 0, 0, batch(1), 1, false, 0, false));
        assertThat(node.state()).isEqualTo(RaftNode.State.FOLLOWER);
        assertThat(node.leader()).isEqualTo("b");
        drain();
        assertThat(log.lastIndex()).isEqualTo(1);
        assertThat(node.commitIndex()).isEqualTo(1);
    }

    @Test
    void heartbeatCarriesCommitUpToMatch() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, batch(1, 1), 0));
        drain();
        node.step(new Message(MessageType.HEARTBEAT, "b", "a", 1, 0, 0, MessageBatch.empty(), 2, false, 0, false));
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.type()).isEqualTo(MessageType.HEARTBEAT_RESP));
        assertThat(node.commitIndex()).isEqualTo(2);
    }

    @Test
    void newCommitReachesCaughtUpFollowersAsANoticeThatWantsNoAnswer() {
        leaderOf(3);
        node.step(appendResp("b", "a", 1, 0)); // probes answered: both replicate
        node.step(appendResp("c", "a", 1, 0));
        drain();
        node.propose(MessageBatch.of(new byte[] {1}));
        assertThat(drain()).filteredOn(m -> m.type() == MessageType.APPEND).hasSize(2);
        node.step(appendResp("b", "a", 1, 1));
        List<Message> out = drain();
        assertThat(node.commitIndex()).isEqualTo(1);
        // b acknowledged everything: a notice; c's append is still in flight: nothing yet, no empty append
        assertThat(out).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.COMMIT);
            assertThat(m.to()).isEqualTo("b");
            assertThat(m.index()).isEqualTo(1);
            assertThat(m.logTerm()).isEqualTo(1);
            assertThat(m.commit()).isEqualTo(1);
        });
        node.step(appendResp("c", "a", 1, 1));
        assertThat(drain()).as("c's acknowledgement brings its notice").singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.COMMIT);
            assertThat(m.to()).isEqualTo("c");
            assertThat(m.index()).isEqualTo(1);
            assertThat(m.commit()).isEqualTo(1);
        });
        node.step(appendResp("c", "a", 1, 1));
        assertThat(drain()).as("a repeated acknowledgement: c was told already").isEmpty();
    }

    @Test
    void aCommitReachingAFollowerOnALaterAppendNeedsNoNotice() {
        leaderOf(3);
        node.step(appendResp("b", "a", 1, 0));
        node.step(appendResp("c", "a", 1, 0));
        drain();
        node.propose(MessageBatch.of(new byte[] {1}));
        drain();
        node.propose(MessageBatch.of(new byte[] {2})); // both followers: appends for 1 and 2 in flight
        drain();
        node.step(appendResp("b", "a", 1, 1));
        assertThat(node.commitIndex()).isEqualTo(1);
        assertThat(drain()).as("both followers still have an append in flight").isEmpty();
        node.propose(MessageBatch.of(new byte[] {3}));
        assertThat(drain()).filteredOn(m -> m.type() == MessageType.APPEND).hasSize(2)
                .allSatisfy(m -> assertThat(m.commit()).isEqualTo(1));
        node.step(appendResp("c", "a", 1, 3));
        List<Message> out = drain();
        assertThat(node.commitIndex()).isEqualTo(3);
        // c holds everything and was last told 1: notice with 3; b still has 2 and 3 in flight
        assertThat(out).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.COMMIT);
            assertThat(m.to()).isEqualTo("c");
            assertThat(m.commit()).isEqualTo(3);
        });
        node.step(appendResp("b", "a", 1, 3));
        assertThat(drain()).as("b's last acknowledgement brings its notice").singleElement()
                .satisfies(m -> {
                    assertThat(m.to()).isEqualTo("b");
                    assertThat(m.type()).isEqualTo(MessageType.COMMIT);
                    assertThat(m.commit()).isEqualTo(3);
                });
        node.propose(MessageBatch.of(new byte[] {4}));
        drain();
        node.step(appendResp("b", "a", 1, 4));
        assertThat(drain()).singleElement().satisfies(m -> assertThat(m.to()).isEqualTo("b"));
        node.step(appendResp("c", "a", 1, 4));
        assertThat(drain()).as("4 was committed by b's ack while c had it in flight: c's ack brings the notice")
                .singleElement().satisfies(m -> {
                    assertThat(m.to()).isEqualTo("c");
                    assertThat(m.commit()).isEqualTo(4);
                });
    }

    @Test
    void newCommitReachesAFollowerWithUnsentEntriesInItsAppend() {
        RaftConfig cfg = CFG.withFlowControl(100, 1 << 20, 1, 1 << 20); // one append in flight
        create("a", List.of("a", "b", "c"), cfg, new MemLog(), HardState.INITIAL);
        node.campaign();
        node.step(new Message(MessageType.VOTE_RESP, "b", "a", 1, 0, 0, MessageBatch.empty(), 0, false, 0, false));
        drain();
        node.step(appendResp("b", "a", 1, 0));
        node.step(appendResp("c", "a", 1, 0));
        drain();
        node.propose(MessageBatch.of(new byte[] {1}));
        drain();
        node.propose(MessageBatch.of(new byte[] {2})); // c's pipeline is full: index 2 waits for its ack
        drain();
        node.step(appendResp("b", "a", 1, 2));
        List<Message> out = drain();
        assertThat(node.commitIndex()).isEqualTo(2);
        assertThat(out).filteredOn(m -> m.to().equals("b")).singleElement()
                .satisfies(m -> assertThat(m.type()).isEqualTo(MessageType.COMMIT));
        node.step(appendResp("c", "a", 1, 1));
        assertThat(drain()).filteredOn(m -> m.to().equals("c")).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MessageType.APPEND);
            assertThat(m.entries().count()).isEqualTo(1);
            assertThat(m.commit()).isEqualTo(2);
        });
    }

    @Test
    void followerAdoptsANoticesCommitOnlyThroughAnEntryItHoldsAndNeverAnswers() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(append("b", 2, 0, 0, batch(1, 2), 0));
        drain();
        assertThat(node.commitIndex()).isZero();
        node.step(new Message(MessageType.COMMIT, "b", "a", 2, 3, 2, MessageBatch.empty(), 3, false, 0, false));
        assertThat(node.commitIndex()).as("entry 3 not held (its append was lost)").isZero();
        node.step(new Message(MessageType.COMMIT, "b", "a", 2, 2, 1, MessageBatch.empty(), 2, false, 0, false));
        assertThat(node.commitIndex()).as("our entry 2 has another term").isZero();
        node.step(new Message(MessageType.COMMIT, "b", "a", 2, 1, 1, MessageBatch.empty(), 5, false, 0, false));
        assertThat(node.commitIndex()).as("not beyond the matching entry").isEqualTo(1);
        node.step(new Message(MessageType.COMMIT, "b", "a", 2, 2, 2, MessageBatch.empty(), 2, false, 0, false));
        assertThat(node.commitIndex()).isEqualTo(2);
        assertThat(drain()).as("notices are never answered").isEmpty();
        node.step(new Message(MessageType.COMMIT, "c", "a", 3, 2, 2, MessageBatch.empty(), 2, false, 0, false));
        assertThat(node.term()).as("a notice of a later term is a leader's word").isEqualTo(3);
        assertThat(node.leader()).isEqualTo("c");
    }

    @Test
    void transferToCaughtUpVoterSendsTimeoutNowAtOnce() {
        leaderOf(3);
        node.step(appendResp("b", "a", 1, 0));
        drain();
        node.transferLeadership("b");
        assertThat(drain()).anySatisfy(m -> {
            assertThat(m.type()).isEqualTo(MessageType.TIMEOUT_NOW);
            assertThat(m.to()).isEqualTo("b");
        });
        assertThatThrownBy(() -> node.transferLeadership("z")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void timeoutNowMakesAFollowerCampaignWithTransferFlag() {
        create("a", List.of("a", "b", "c"), CFG.withPreVote(true, true), new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, MessageBatch.empty(), 0));
        drain();
        node.step(msg(MessageType.TIMEOUT_NOW, "b", "a", 1));
        assertThat(node.state()).isEqualTo(RaftNode.State.CANDIDATE);
        assertThat(drain()).filteredOn(m -> m.type() == MessageType.VOTE).allMatch(Message::transfer).hasSize(2);
    }

    // ---------------------------------------------------------------- leader pipelining (thesis §10.2.1)

    @Test
    void groupOfOneCommitsAWrittenEntryOnlyOnceItIsDurable() {
        leaderOf(1);
        long first = node.propose(MessageBatch.of(List.of(new byte[] {1}, new byte[] {2})));
        Ready rd = node.ready();
        assertThat(rd.pipelinable()).isTrue();
        log.apply(rd);
        node.advanceWritten(rd);
        assertThat(node.commitIndex()).as("written, not durable: not committed").isEqualTo(first - 1);
        node.durable(first + 1, node.term() + 1); // a sync from another term reports nothing
        assertThat(node.commitIndex()).isEqualTo(first - 1);
        node.durable(first, node.term());
        assertThat(node.commitIndex()).isEqualTo(first);
        node.durable(first + 1, node.term());
        assertThat(node.commitIndex()).isEqualTo(first + 1);
        assertThat(node.hasReady()).isTrue();
        assertThat(node.ready().commitIndex()).isEqualTo(first + 1);
    }

    @Test
    void aMajorityOfFollowersCommitsWhatTheLeaderHasOnlyWritten() {
        leaderOf(3);
        node.step(appendResp("b", "a", node.term(), 0)); // probes answered: both replicate
        node.step(appendResp("c", "a", node.term(), 0));
        drain();
        long first = node.propose(MessageBatch.of(new byte[] {7}));
        Ready rd = node.ready();
        assertThat(rd.pipelinable()).isTrue();
        assertThat(rd.messages()).extracting(Message::type).containsOnly(MessageType.APPEND);
        log.apply(rd);
        node.advanceWritten(rd);
        node.step(appendResp("b", "a", node.term(), first));
        assertThat(node.commitIndex()).as("leader (not durable) + b is not a majority of 3").isEqualTo(first - 1);
        node.step(appendResp("c", "a", node.term(), first));
        assertThat(node.commitIndex()).as("b + c durable: a majority").isEqualTo(first);
    }

    @Test
    void readiesThatChangeTermVoteOrLogShapeAreNotPipelinable() {
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.campaign();
        Ready rd = node.ready();
        assertThat(rd.pipelinable()).as("candidate with a new term and vote").isFalse();
        assertThatThrownBy(() -> node.advanceWritten(rd)).isInstanceOf(IllegalArgumentException.class);
        node.advance(rd);
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, batch(1), 0));
        Ready f = node.ready();
        assertThat(f.pipelinable()).as("follower").isFalse();
    }

    @Test
    void refusedHigherTermVoteRequestsDoNotRestartTheElectionTimer() {
        // Figure 2: only the leader's AppendEntries or a granted vote restart the timer; a candidate
        // whose log is behind ours must not keep us (the node that can win) from campaigning
        create("a", List.of("a", "b", "c"), CFG, new MemLog(), HardState.INITIAL);
        node.step(append("b", 1, 0, 0, batch(1), 0));
        drain();
        long t = 2;
        int ticks = 0;
        while (node.state() == RaftNode.State.FOLLOWER && ticks < 10 * CFG.electionTicks()) {
            node.step(vote("c", t++, 0, 0)); // c's log is empty: refused, in an ever higher term
            drain();
            node.tick();
            drain();
            ticks++;
        }
        assertThat(node.state()).isEqualTo(RaftNode.State.CANDIDATE);
        assertThat(ticks).isLessThanOrEqualTo(CFG.electionTicks() + CFG.electionJitterTicks());
    }
}
