package org.forestbus.api;

import java.util.List;
import java.util.Map;

/**
 * The members of one topic's Raft group as one node sees them. Every topic is its own group;
 * its members are a subset of the cluster's nodes ({@link NodeInfo#peers()}). A new topic
 * starts with every node of the cluster as a voter; from then on its membership changes only
 * through {@link TopicService#changeMembers}, one node at a time, and is stored with the topic.
 *
 * @param voters       nodes that vote and count toward the commit quorum, sorted
 * @param learners     nodes that receive the log but do not vote, sorted
 * @param configIndex  index of the entry that carries this configuration (0 = the one the topic
 *                     was created with)
 * @param matchIndexes on the leader: the highest index each other member is known to store;
 *                     empty on other nodes
 */
public record TopicMembers(List<String> voters, List<String> learners, long configIndex,
                           Map<String, Long> matchIndexes) {

    public TopicMembers {
        voters = List.copyOf(voters);
        learners = List.copyOf(learners);
        matchIndexes = Map.copyOf(matchIndexes);
    }

    /** One single-node membership change (Raft thesis §4.1: one server at a time). */
    public enum Change {
        /** Add a node as a learner: it receives the log and catches up but does not vote. */
        ADD_LEARNER,
        /** Make a learner a voter; refused until it has caught up to the commit index. */
        PROMOTE,
        /** Remove a voter or a learner; a leader that removes itself steps down once that commits. */
        REMOVE
    }
}
