package org.forestbus.client;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.forestbus.client.FakeServer.Answer;
import org.forestbus.client.FakeServer.Call;

/** A one-topic log: sends append (answered at once or held), reads serve / park long polls. */
final class FakeTopic implements FakeServer.Handler {
    final List<byte[]> log = new ArrayList<>();
    final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    final List<Runnable> heldSends = new ArrayList<>();
    final List<Call> parkedPolls = new ArrayList<>();
    final List<CompletableFuture<Answer>> parkedReplies = new ArrayList<>();
    volatile boolean holdSends;

    @Override
    public synchronized CompletableFuture<Answer> handle(Call call) {
        if (call.method().equals("SendMessages")) {
            List<byte[]> msgs = Wire.payloads(call.args(), "SentMessages");
            batchSizes.add(msgs.size());
            CompletableFuture<Answer> f = new CompletableFuture<>();
            Runnable answer = () -> {
                long[] ids = append(msgs);
                f.complete(FakeServer.sendResult(0, "", ids).join());
            };
            if (holdSends) {
                heldSends.add(answer);
            } else {
                answer.run();
            }
            return f;
        }
        long id = Wire.number(call.args(), "ID");
        int qty = (int) Wire.number(call.args(), "Quantity");
        CompletableFuture<Answer> f = new CompletableFuture<>();
        if (id <= log.size() || !Boolean.TRUE.equals(call.args().get("WaitForMessages"))) {
            f.complete(read(id, qty));
        } else {
            parkedPolls.add(call);
            parkedReplies.add(f);
        }
        return f;
    }

    synchronized long[] append(List<byte[]> msgs) {
        long[] ids = new long[msgs.size()];
        for (int i = 0; i < ids.length; i++) {
            log.add(msgs.get(i));
            ids[i] = log.size();
        }
        for (int i = 0; i < parkedPolls.size(); i++) {
            Call c = parkedPolls.get(i);
            parkedReplies.get(i).complete(read(Wire.number(c.args(), "ID"), (int) Wire.number(c.args(), "Quantity")));
        }
        parkedPolls.clear();
        parkedReplies.clear();
        return ids;
    }

    synchronized void releaseSends() {
        holdSends = false;
        heldSends.forEach(Runnable::run);
        heldSends.clear();
    }

    private Answer read(long id, int qty) {
        if (id > log.size()) {
            return FakeServer.receiveResult(0, id, null, false);
        }
        int from = (int) id - 1;
        List<byte[]> page = new ArrayList<>(log.subList(from, Math.min(log.size(), from + qty)));
        return FakeServer.receiveResult(0, id + page.size(), page, false);
    }
}

