package org.forestbus.cbor.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.forestbus.cbor.internal.RpcTestClient.Response;

/**
 * Throughput of the listener itself over loopback with an in-memory topic (no storage, no Raft):
 * {@code connections} clients each keep {@code window} pipelined requests in flight.
 * Prints one figure line per phase. Not a unit test; run with
 * {@code java -cp <test classpath> org.forestbus.cbor.internal.CborRpcBench [connections] [window] [seconds] [batch]}.
 */
public final class CborRpcBench {

    public static void main(String[] args) throws Exception {
        int connections = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int window = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        FakeRegistry registry = new FakeRegistry();
        registry.add(new FakeTopic("bench"));
        CborRpcServer server = new CborRpcServer(registry, new FakeNode(), new TestConfig());
        try {
            List<byte[]> msgs = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                msgs.add(new byte[100]);
            }
            Map<String, Object> send = new LinkedHashMap<>();
            send.put("Topic", "bench");
            send.put("SentMessages", msgs);
            send.put("WaitForCommit", true);
            run("send", server.port(), connections, window, seconds, batch, i -> send);
            run("receive", server.port(), connections, window, seconds, 50,
                    i -> RpcSemanticsTest.recvArgs("bench", 1 + (i * 50) % 10_000, 50, false));
            run("details", server.port(), connections, window, seconds, 0, i -> Map.of("Topic", "bench"));
        } finally {
            server.deactivate();
        }
    }

    private static void run(String phase, int port, int connections, int window, int seconds, int msgsPerReq,
                            java.util.function.LongFunction<Map<String, ?>> args) throws Exception {
        String method = switch (phase) {
            case "send" -> ServerTestSupport.SEND;
            case "receive" -> ServerTestSupport.RECV;
            default -> ServerTestSupport.GTD;
        };
        AtomicLong done = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService pool = Executors.newFixedThreadPool(connections);
        long t0 = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            fs.add(pool.submit(() -> {
                try (RpcTestClient client = new RpcTestClient("127.0.0.1", port)) {
                    long seq = 0;
                    for (int i = 0; i < window; i++) {
                        client.send(method, seq, args.apply(seq));
                        seq++;
                    }
                    while (System.nanoTime() < end) {
                        Response r = client.read();
                        if (!r.error().isEmpty() || r.code() != 0) {
                            errors.incrementAndGet();
                        }
                        done.incrementAndGet();
                        client.send(method, seq, args.apply(seq));
                        seq++;
                    }
                    for (int i = 0; i < window; i++) {
                        client.read();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("cbor-rpc bench %s: connections=%d window=%d requests=%d errors=%d %.0f req/s %.0f msg/s%n",
                phase, connections, window, done.get(), errors.get(), done.get() / secs, done.get() * msgsPerReq / secs);
    }
}
