package org.forestbus.raft.internal;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.forestbus.api.MessageBatch;
import org.forestbus.api.NodeInfo;
import org.forestbus.api.ReadResult;
import org.forestbus.api.TopicMembers;
import org.forestbus.api.TopicService;
import org.forestbus.api.TopicStatus;
import org.forestbus.api.storage.LogConfig;
import org.forestbus.api.storage.LogStore;
import org.forestbus.api.storage.LogStoreFactory;
import org.forestbus.api.storage.SyncPolicy;
import org.forestbus.raft.core.RaftConfig;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One running topic per factory configuration of {@code org.forestbus.topic}. Creating the
 * configuration starts the topic; deleting it stops the topic and keeps its data. Any change
 * re-creates the component (DS default without {@code @Modified}).
 */
@Component(service = TopicService.class, configurationPid = "org.forestbus.topic",
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = TopicConfig.class, factory = true)
public final class TopicComponent implements TopicService {

    private final RaftTopic topic;

    @Activate
    public TopicComponent(@Reference(name = "logStore") LogStoreFactory logs, @Reference NodeInfo node,
                          @Reference TopicRuntime runtime, @Reference RaftNetwork network, TopicConfig config) {
        String name = config.topic_name();
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("topic configuration without topic.name");
        }
        // a new topic starts with every node of the cluster as a voter (as in the original); its
        // membership is stored with it and changes only through changeMembers
        List<String> clusterNodes = node.peers().stream().map(NodeInfo.Peer::name).toList();
        LogStore log = logs.open(name, logConfig(config));
        try {
            topic = new RaftTopic(name, node.nodeName(), clusterNodes, log, network, runtime, TopicRuntime.RAFT_CONFIG,
                    new SplittableRandom(), config.retention_check_interval_ms());
        } catch (RuntimeException e) {
            log.close();
            throw e;
        }
    }

    static LogConfig logConfig(TopicConfig c) {
        String policy = c.sync_policy() == null ? "" : c.sync_policy().trim();
        SyncPolicy sync = policy.isEmpty() ? null : SyncPolicy.valueOf(policy.toUpperCase(Locale.ROOT));
        return new LogConfig(c.segment_bytes(), c.retention_ms(), c.retention_bytes(), sync, 0);
    }

    @Deactivate
    void deactivate() {
        topic.close();
    }

    @Override
    public String name() {
        return topic.name();
    }

    @Override
    public CompletableFuture<long[]> send(MessageBatch batch, boolean waitForCommit) {
        return topic.send(batch, waitForCommit);
    }

    @Override
    public CompletableFuture<ReadResult> read(long fromIndex, int maxMessages, int maxBytes, long waitMillis) {
        return topic.read(fromIndex, maxMessages, maxBytes, waitMillis);
    }

    @Override
    public TopicStatus status() {
        return topic.status();
    }

    @Override
    public TopicMembers members() {
        return topic.members();
    }

    @Override
    public CompletableFuture<TopicMembers> changeMembers(TopicMembers.Change change, String node) {
        return topic.changeMembers(change, node);
    }

    @Override
    public CompletableFuture<Void> transferLeadership(String node) {
        return topic.transferLeadership(node);
    }
}
