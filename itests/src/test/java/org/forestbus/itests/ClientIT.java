package org.forestbus.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.forestbus.client.ForestBusClient;
import org.forestbus.client.ForestBusClientException;
import org.forestbus.client.Messages;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The Java client library and the distribution's {@code bin/forestbus-bench} against a real
 * node ({@link NodeProcess}): exact binary payloads, a long poll, code 2 for an unknown topic,
 * and the bench's result line.
 */
public class ClientIT {

    private NodeProcess node;
    private ForestBusClient client;

    @Before
    public void start() throws Exception {
        node = new NodeProcess().start();
        client = ForestBusClient.connect("#default@127.0.0.1:" + node.cborPort);
    }

    @After
    public void stop() {
        if (client != null) {
            client.close();
        }
        node.close();
    }

    @Test
    public void libraryRoundTripsExactBytesLongPollsAndBenchPrintsItsResult() throws Exception {
        CompletableFuture<Messages> poll = client.receive(1, 10, true); // parked before anything is sent

        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        List<byte[]> sent = new ArrayList<>();
        long expectedId = 1;
        for (int batch = 0; batch < 5; batch++) {
            List<byte[]> msgs = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                byte[] m = new byte[1 + rnd.nextInt(300)];
                rnd.nextBytes(m);
                m[0] = (byte) (i % 2 == 0 ? 0x00 : 0xff);
                msgs.add(m);
            }
            long[] ids = client.send(msgs, true).get(60, TimeUnit.SECONDS);
            assertEquals("seed " + seed, msgs.size(), ids.length);
            for (long id : ids) {
                assertEquals("consecutive ids, seed " + seed, expectedId++, id);
            }
            sent.addAll(msgs);
        }

        List<byte[]> polled = poll.get(60, TimeUnit.SECONDS).payloads();
        assertFalse("the long poll returned messages", polled.isEmpty());
        assertArrayEquals("long poll got message 1, seed " + seed, sent.get(0), polled.get(0));

        List<byte[]> read = new ArrayList<>();
        long next = 1;
        while (true) {
            Messages m = client.receive(next, 64, false).get(60, TimeUnit.SECONDS);
            if (m.payloads().isEmpty()) {
                break;
            }
            read.addAll(m.payloads());
            next += m.payloads().size();
            assertEquals(next, m.nextId());
        }
        assertEquals("seed " + seed, sent.size(), read.size());
        for (int i = 0; i < sent.size(); i++) {
            assertArrayEquals("message " + (i + 1) + " byte-exact, seed " + seed, sent.get(i), read.get(i));
        }
        assertTrue(client.topicDetails().get(60, TimeUnit.SECONDS).commitIndex() >= sent.size());

        try {
            client.receive("no-such-topic", 1, 1, false).get(60, TimeUnit.SECONDS);
            fail("unknown topic must fail");
        } catch (ExecutionException e) {
            ForestBusClientException fe = (ForestBusClientException) e.getCause();
            assertEquals(ForestBusClientException.Reason.TOPIC_NOT_FOUND, fe.reason());
            assertEquals(2, fe.reason().wireCode());
        }
        System.out.println("client-it: sent=" + sent.size() + " read_back=" + read.size() + " long_poll=" + polled.size());

        // forestbus-bench as users run it: the distribution's script
        ProcessBuilder pb = new ProcessBuilder(node.home.resolve("bin/forestbus-bench").toString(),
                "-c", "#default@127.0.0.1:" + node.cborPort, "--producers", "2", "--batch", "50", "--size", "100",
                "--warmup", "1", "--duration", "3", "--catch-up", "1000").redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process bench = pb.start();
        String out = new String(bench.getInputStream().readAllBytes());
        assertTrue("bench finished", bench.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, bench.exitValue());
        String[] lines = out.strip().split("\\R");
        String last = lines[lines.length - 1];
        System.out.println("client-it bench: " + last);
        assertTrue(out, last.matches("result msgs_per_s=\\d+ mb_per_s=\\d+\\.\\d+ p50_us=\\d+ p99_us=\\d+"));
        assertFalse(out, last.startsWith("result msgs_per_s=0 "));
        assertTrue(out, out.contains("progress t=1s"));
        assertTrue(out, out.contains("catchup msgs=1000 "));
    }
}
