package org.forestbus.raft.core;

/**
 * Timing and flow-control settings of one {@link RaftNode}. Time is counted in ticks: the
 * driver calls {@link RaftNode#tick()} at a fixed interval ({@code tickMillis}, a driver
 * setting). The defaults assume a 50 ms tick and reproduce the original's timing: election
 * timeout drawn uniformly from {@code [electionTicks, electionTicks + electionJitterTicks)}
 * ticks = 500, 550, 600 or 650 ms; heartbeat every {@code heartbeatTicks} = 200 ms.
 *
 * @param electionTicks        minimum election timeout in ticks; also the CheckQuorum period
 *                             and the follower's leader lease (must exceed heartbeatTicks)
 * @param electionJitterTicks  width of the random part of the election timeout ({@code >= 1})
 * @param heartbeatTicks       leader heartbeat interval in ticks
 * @param maxAppendMessages    most messages in one AppendEntries (the original: 2500)
 * @param maxAppendBytes       byte cap of one AppendEntries (one message may exceed it alone)
 * @param maxInflightAppends   most unacknowledged AppendEntries per follower while pipelining
 * @param maxInflightBytes     most unacknowledged entry bytes per follower while pipelining
 * @param preVote              run a PreVote round before a real election (thesis §9.6)
 * @param checkQuorum          leaders step down without a majority's contact within
 *                             electionTicks; followers then ignore votes while they hear from
 *                             a leader (leader lease)
 */
public record RaftConfig(int electionTicks, int electionJitterTicks, int heartbeatTicks,
                         int maxAppendMessages, int maxAppendBytes,
                         int maxInflightAppends, long maxInflightBytes,
                         boolean preVote, boolean checkQuorum) {

    /** Defaults for a 50 ms tick; see the class comment. */
    public static final RaftConfig DEFAULTS = new RaftConfig(10, 4, 4, 2500, 1 << 20, 16, 16L << 20, true, true);

    public RaftConfig {
        if (heartbeatTicks < 1 || electionTicks <= heartbeatTicks || electionJitterTicks < 1) {
            throw new IllegalArgumentException("need 1 <= heartbeatTicks < electionTicks and electionJitterTicks >= 1");
        }
        if (maxAppendMessages < 1 || maxAppendBytes < 1 || maxInflightAppends < 1 || maxInflightBytes < 1) {
            throw new IllegalArgumentException("flow-control limits must be positive");
        }
    }

    public RaftConfig withElection(int ticks, int jitter, int heartbeat) {
        return new RaftConfig(ticks, jitter, heartbeat, maxAppendMessages, maxAppendBytes,
                maxInflightAppends, maxInflightBytes, preVote, checkQuorum);
    }

    public RaftConfig withFlowControl(int appendMessages, int appendBytes, int inflightAppends, long inflightBytes) {
        return new RaftConfig(electionTicks, electionJitterTicks, heartbeatTicks, appendMessages, appendBytes,
                inflightAppends, inflightBytes, preVote, checkQuorum);
    }

    public RaftConfig withPreVote(boolean on, boolean quorumCheck) {
        return new RaftConfig(electionTicks, electionJitterTicks, heartbeatTicks, maxAppendMessages,
                maxAppendBytes, maxInflightAppends, maxInflightBytes, on, quorumCheck);
    }
}
