package org.forestbus.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.annotation.Annotation;
import org.forestbus.api.NodeInfo.Peer;
import org.junit.jupiter.api.Test;

class NodeComponentTest {

    static NodeConfig config(String name, String... peers) {
        return new NodeConfig() {
            public Class<? extends Annotation> annotationType() { return NodeConfig.class; }
            public String node_name() { return name; }
            public String cluster_id() { return "c1"; }
            public String[] peers() { return peers; }
            public String http_address() { return "h:8000"; }
            public String cbor_address() { return "h:5000"; }
            public String peer_address() { return "h:3000"; }
            public String data_dir() { return "d"; }
            public String sync_policy() { return "fsync"; }
            public long sync_interval_ms() { return 1000; }
        };
    }

    @Test
    void singleNodeAdvertisesItsOwnAddresses() {
        NodeComponent node = new NodeComponent(config("n1"));
        assertThat(node.clusterId()).isEqualTo("c1");
        assertThat(node.peers()).containsExactly(new Peer("n1", "h:3000", "h:8000", "h:5000"));
    }

    @Test
    void peersFromOneCfgStringSeparatedBySemicolons() {
        NodeComponent node = new NodeComponent(config("b",
                "b,peer=127.0.0.1:3001,http=127.0.0.1:8001; a,peer=127.0.0.1:3000,http=127.0.0.1:8000,cbor=127.0.0.1:5000"));
        assertThat(node.peers()).extracting(Peer::name).containsExactly("a", "b");
        assertThat(node.peer("b")).contains(new Peer("b", "127.0.0.1:3001", "127.0.0.1:8001", ""));
    }

    @Test
    void peersMustIncludeThisNodeAndBeWellFormed() {
        assertThatThrownBy(() -> new NodeComponent(config("x", "a,peer=h:1")))
                .hasMessageContaining("do not include this node (x)");
        assertThatThrownBy(() -> new NodeComponent(config("a", "a,port=h:1")))
                .hasMessageContaining("unknown peer attribute");
        assertThatThrownBy(() -> new NodeComponent(config("a", "peer=h:1")))
                .hasMessageContaining("must start with the node name");
    }

    @Test
    void topicNamesArePortable() {
        ConfigTopicAdmin.checkName("orders-2026.eu_1");
        assertThatThrownBy(() -> ConfigTopicAdmin.checkName("../etc")).hasMessageContaining("invalid topic name");
        assertThatThrownBy(() -> ConfigTopicAdmin.checkName("")).hasMessageContaining("invalid topic name");
        assertThatThrownBy(() -> ConfigTopicAdmin.checkName("a b")).hasMessageContaining("invalid topic name");
    }
}
