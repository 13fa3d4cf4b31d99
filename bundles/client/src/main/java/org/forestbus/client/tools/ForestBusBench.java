package org.forestbus.client.tools;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.forestbus.client.ForestBusClient;
import org.forestbus.client.Messages;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code forestbus-bench}: N producers each sending batches with one request in flight (the next
 * is sent when the answer arrives) for a duration, then optionally a catch-up read. A progress
 * line each second; the last line is
 * {@code result msgs_per_s=<n> mb_per_s=<n> p50_us=<n> p99_us=<n>} (latency of one send request;
 * for a read-only run, of one read request).
 */
@Command(name = "forestbus-bench", mixinStandardHelpOptions = true, version = "forestbus-bench 1.0",
        description = {"Load generator. N producers send batches of messages for a warm-up and then a measured "
                + "duration (each waits for its request's answer before the next), printing a progress line each "
                + "second; then, with --catch-up N, reads N messages from index 1 as fast as possible.",
                "The last line is 'result msgs_per_s=<n> mb_per_s=<n> p50_us=<n> p99_us=<n>' (per send request, "
                + "warm-up excluded; per read request when --producers 0)."})
public final class ForestBusBench implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-c", "--forestbus"}, defaultValue = Common.DEFAULT_CS, description = Common.CS_HELP)
    String connection;

    @Option(names = {"-p", "--producers"}, defaultValue = "4", description = "Concurrent producers (default ${DEFAULT-VALUE}; 0 = read only).")
    int producers;

    @Option(names = {"-b", "--batch"}, defaultValue = "100", description = "Messages per send request (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = {"-s", "--size"}, defaultValue = "100", description = "Message size in bytes (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--wait", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Wait for commit (default on; --no-wait: answered once queued by the leader).")
    boolean waitForCommit;

    @Option(names = {"-d", "--duration"}, defaultValue = "10", description = "Seconds of sending (default ${DEFAULT-VALUE}).")
    double duration;

    @Option(names = {"-w", "--warmup"}, defaultValue = "5", description = "Seconds of sending before the measured "
            + "duration, not counted (JIT compilation, connection setup; default ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--read-ahead", defaultValue = "4", description = "Read requests kept in flight by the catch-up test (default 4).")
    int readAhead;

    @Option(names = "--catch-up", defaultValue = "0", description = "After sending, read this many messages from index 1 (default 0: no read test).")
    long catchUp;

    @Option(names = "--read-batch", defaultValue = "500", description = "Messages asked for per read request (default ${DEFAULT-VALUE}).")
    int readBatch;

    public static void main(String[] args) {
        System.exit(Common.run(new ForestBusBench(), args));
    }

    /** Latencies in microseconds, appended by one thread. */
    private static final class Samples {
        long[] values = new long[1 << 12];
        int n;

        void add(long v) {
            if (n == values.length) {
                values = Arrays.copyOf(values, n * 2);
            }
            values[n++] = v;
        }
    }

    @Override
    public Integer call() throws Exception {
        try (ForestBusClient client = Common.client(spec, connection, true)) {
            String result = null;
            if (producers > 0) {
                result = send(client);
            }
            if (catchUp > 0) {
                if (readAhead < 1) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--read-ahead must be >= 1");
                }
                String r = read(client);
                if (result == null) {
                    result = r;
                }
            }
            if (result == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "nothing to do: --producers 0 and no --catch-up");
            }
            System.out.println(result);
            System.out.flush();
            return 0;
        }
    }

    private String send(ForestBusClient client) throws InterruptedException {
        AtomicLong messages = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicLong warmupMessages = new AtomicLong();
        long durationNanos = (long) (duration * 1e9);
        long start = System.nanoTime();
        long measureFrom = start + (long) (Math.max(0, warmup) * 1e9);
        long end = measureFrom + durationNanos;
        Samples[] samples = new Samples[producers];
        CountDownLatch done = new CountDownLatch(producers);
        System.out.printf(Locale.ROOT, "bench producers=%d batch=%d size=%d wait=%s warmup_s=%s duration_s=%s nodes=%s topic=%s%n",
                producers, batch, size, waitForCommit, warmup, duration, client.nodes(), client.topic());
        for (int p = 0; p < producers; p++) {
            Samples s = samples[p] = new Samples();
            int producer = p;
            // A producer is a chain, not a thread: each answer's completion sends the next request
            // (one in flight per producer, as a blocked thread would have), so the client's reader
            // does not wake a parked producer thread per request. Futures already done on return
            // loop here instead of recursing.
            Runnable chain = new Runnable() {
                long seq;

                @Override
                public void run() {
                    while (true) {
                        if (System.nanoTime() >= end) {
                            done.countDown();
                            return;
                        }
                        List<byte[]> msgs = new ArrayList<>(batch);
                        for (int i = 0; i < batch; i++) {
                            msgs.add(message(producer, seq++));
                        }
                        long t0 = System.nanoTime();
                        CompletableFuture<long[]> f = client.send(msgs, waitForCommit);
                        if (!f.isDone()) {
                            f.whenComplete((ids, e) -> {
                                answered(t0, e);
                                if (e == null) {
                                    run(); // the leader just answered: its connection is open, nothing blocks
                                } else {
                                    ForkJoinPool.commonPool().execute(this); // may connect elsewhere: not on a reader
                                }
                            });
                            return;
                        }
                        answered(t0, f.handle((ids, e) -> e).join());
                    }
                }

                private void answered(long t0, Throwable e) {
                    if (e != null) {
                        if (errors.incrementAndGet() <= 5) {
                            System.out.println("error: " + Common.unwrap(e).getMessage());
                        }
                    } else if (t0 >= measureFrom) {
                        s.add((System.nanoTime() - t0) / 1000);
                        messages.addAndGet(batch);
                    } else {
                        warmupMessages.addAndGet(batch);
                    }
                }
            };
            Thread t = new Thread(chain, "bench-producer-" + p); // until its first request is in flight
            t.setDaemon(true);
            t.start();
        }
        long last = 0;
        long lastTime = start;
        int second = 0;
        // progress once per second; the latch wait ends early when all producers have finished
        while (!done.await(Math.max(1, lastTime + 1_000_000_000L - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            long now = System.nanoTime();
            long m = messages.get() + warmupMessages.get();
            second++;
            System.out.printf(Locale.ROOT, "progress t=%ds%s msgs=%d msgs_per_s=%.0f errors=%d%n", second,
                    now <= measureFrom ? " (warm-up)" : "", messages.get(), (m - last) / ((now - lastTime) / 1e9),
                    errors.get());
            last = m;
            lastTime = now;
        }
        double secs = (System.nanoTime() - Math.min(measureFrom, System.nanoTime())) / 1e9;
        long total = messages.get();
        long[] all = merge(samples);
        System.out.printf(Locale.ROOT, "send done msgs=%d requests=%d errors=%d seconds=%.2f%n", total, all.length, errors.get(), secs);
        return resultLine(total / secs, total * (double) size / secs / 1e6, all);
    }

    private String read(ForestBusClient client) throws Exception {
        long t0 = System.nanoTime();
        long next = 1;     // next index to consume
        long issued = 1;   // next index to ask for
        long got = 0;
        long bytes = 0;
        Samples lat = new Samples();
        long lastProgress = t0;
        // up to readAhead requests for consecutive ranges are in flight (a consumer that knows ids
        // are contiguous can pipeline its fetches); a short or empty answer restarts the pipeline
        ArrayDeque<long[]> ranges = new ArrayDeque<>();                  // {start, count, sentNanos}
        ArrayDeque<CompletableFuture<Messages>> inflight = new ArrayDeque<>();
        while (got < catchUp) {
            while (inflight.size() < readAhead && issued - 1 < catchUp) {
                int n = (int) Math.min(readBatch, catchUp - (issued - 1));
                ranges.add(new long[] {issued, n, System.nanoTime()});
                inflight.add(client.receive(issued, n, false));
                issued += n;
            }
            long[] range = ranges.poll();
            Messages m = inflight.poll().get();
            lat.add((System.nanoTime() - range[2]) / 1000);
            if (m.isEmpty()) {
                drain(ranges, inflight);
                if (m.nextId() > next) {
                    next = m.nextId();
                    issued = next;
                    continue;
                }
                System.out.println("catchup: end of the committed log at index " + (next - 1));
                break;
            }
            for (byte[] p : m.payloads()) {
                bytes += p.length;
            }
            got += m.size();
            next += m.size();
            if (m.size() < range[1]) {
                drain(ranges, inflight);
                issued = next;
            }
            long now = System.nanoTime();
            if (now - lastProgress >= 1_000_000_000L) {
                System.out.printf(Locale.ROOT, "progress catchup msgs=%d msgs_per_s=%.0f%n", got, got / ((now - t0) / 1e9));
                lastProgress = now;
            }
        }
        drain(ranges, inflight);
        double secs = (System.nanoTime() - t0) / 1e9;
        long[] all = Arrays.copyOf(lat.values, lat.n);
        Arrays.sort(all);
        System.out.printf(Locale.ROOT, "catchup msgs=%d seconds=%.2f msgs_per_s=%.0f mb_per_s=%.2f p50_us=%d p99_us=%d%n",
                got, secs, got / secs, bytes / secs / 1e6, pct(all, 50), pct(all, 99));
        return resultLine(got / secs, bytes / secs / 1e6, all);
    }

    /** Waits out and discards the requests still in flight. */
    private static void drain(ArrayDeque<long[]> ranges, ArrayDeque<CompletableFuture<Messages>> inflight) {
        for (CompletableFuture<Messages> f : inflight) {
            f.exceptionally(e -> null).join();
        }
        inflight.clear();
        ranges.clear();
    }

    private byte[] message(int producer, long seq) {
        byte[] b = new byte[size];
        ByteBuffer buf = ByteBuffer.wrap(b);
        if (size >= 16) {
            buf.putLong(System.currentTimeMillis()).putInt(producer).putInt((int) seq);
        }
        for (int i = buf.position(); i < size; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    private static long[] merge(Samples[] samples) {
        int n = 0;
        for (Samples s : samples) {
            n += s.n;
        }
        long[] all = new long[n];
        int i = 0;
        for (Samples s : samples) {
            System.arraycopy(s.values, 0, all, i, s.n);
            i += s.n;
        }
        Arrays.sort(all);
        return all;
    }

    private static long pct(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    private static String resultLine(double msgsPerS, double mbPerS, long[] sortedLatencies) {
        return String.format(Locale.ROOT, "result msgs_per_s=%.0f mb_per_s=%.2f p50_us=%d p99_us=%d",
                msgsPerS, mbPerS, pct(sortedLatencies, 50), pct(sortedLatencies, 99));
    }
}
