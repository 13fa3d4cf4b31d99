package org.forestbus.cbor.internal;

import java.util.List;
import org.forestbus.api.NodeInfo;

/** Node {@code localhost:3000} of cluster {@code c1}; its peer {@code node-b} serves CBOR-RPC on {@code localhost:3001}. */
final class FakeNode implements NodeInfo {
    @Override
    public String clusterId() {
        return "c1";
    }

    @Override
    public String nodeName() {
        return "localhost:3000";
    }

    @Override
    public List<Peer> peers() {
        return List.of(new Peer("localhost:3000", "localhost:7000", "localhost:8000", "localhost:5000"),
                new Peer("node-b", "localhost:7001", "localhost:8001", "localhost:3001"));
    }
}
