package org.forestbus.cbor.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/** Starts a {@link CborRpcServer} on a loopback free port over fakes; closes everything after each test. */
abstract class ServerTestSupport {

    static final String GTD = "RPCHandler.GetTopicDetails";
    static final String SEND = "RPCHandler.SendMessages";
    static final String RECV = "RPCHandler.ReceiveMessages";
    static final String GCD = "RPCHandler.GetClusterDetails";

    final FakeRegistry registry = new FakeRegistry();
    final FakeNode node = new FakeNode();
    CborRpcServer server;
    private final List<RpcTestClient> clients = new ArrayList<>();

    void start(TestConfig cfg) throws IOException {
        server = new CborRpcServer(registry, node, cfg);
    }

    void start(TestConfig cfg, CborRpcServer.Acceptor accept) throws IOException {
        server = new CborRpcServer(registry, node, cfg, accept);
    }

    void start() throws IOException {
        start(new TestConfig());
    }

    RpcTestClient connect() throws IOException {
        return connect(0);
    }

    /** A client whose receive window is capped at {@code receiveBufferBytes} (0 = system default). */
    RpcTestClient connect(int receiveBufferBytes) throws IOException {
        RpcTestClient c = new RpcTestClient("127.0.0.1", server.port(), receiveBufferBytes);
        synchronized (clients) {
            clients.add(c);
        }
        return c;
    }

    @AfterEach
    void stopServer() throws IOException {
        synchronized (clients) {
            for (RpcTestClient c : clients) {
                c.close();
            }
        }
        if (server != null) {
            server.deactivate();
        }
    }
}
