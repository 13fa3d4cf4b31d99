package org.forestbus.itests;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The README's node, as a user runs it: the built distribution started with {@code bin/karaf
 * server} (on free ports), 20 POSTs of 50 messages with waitForCommit, a GET walk, then
 * {@code kill -9} of the JVM, a restart, and every acknowledged message read back exactly.
 */
public class DistributionCrashIT {

    private NodeProcess node;

    @Before
    public void unpack() throws IOException {
        node = new NodeProcess();
    }

    @After
    public void stop() {
        node.close();
    }

    @Test
    public void acknowledgedMessagesSurviveKillMinus9() throws Exception {
        node.start();
        List<String> acked = new ArrayList<>();
        long expectedId = 1;
        for (int batch = 0; batch < 20; batch++) {
            StringBuilder json = new StringBuilder("{\"waitForCommit\":true,\"messages\":[");
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                String text = "batch " + batch + " message " + i + " \u00e9";
                texts.add(text);
                json.append(i == 0 ? "" : ",").append('"').append(text).append('"');
            }
            json.append("]}");
            HttpResponse<String> r = node.post("/topics/default/messages", json.toString());
            assertEquals(r.body(), 200, r.statusCode());
            List<Long> ids = numbers(r.body());
            for (long id : ids) {
                assertEquals("ids are consecutive", expectedId++, id);
            }
            assertEquals(50, ids.size());
            acked.addAll(texts);
        }
        assertEquals(acked, walk());

        node.killHard();
        node.start();
        List<String> after = walk();
        assertEquals("every acknowledged message is read back exactly after kill -9", acked, after);
        System.out.println("reliability: distribution kill-9 acked=" + acked.size() + " read_back="
                + after.size() + " lost=" + (acked.size() - after.size()));
    }

    /** GET walk from index 1 following nextId until an empty page. */
    private List<String> walk() throws Exception {
        List<String> out = new ArrayList<>();
        long next = 1;
        while (true) {
            HttpResponse<String> r = node.get("/topics/default/messages?from=" + next + "&max=300");
            assertEquals(r.body(), 200, r.statusCode());
            Matcher m = Pattern.compile("\\{\"id\":(\\d+),\"data\":\"([^\"]*)\"\\}").matcher(r.body());
            int n = 0;
            while (m.find()) {
                assertEquals(next + n, Long.parseLong(m.group(1)));
                out.add(m.group(2));
                n++;
            }
            if (n == 0) {
                return out;
            }
            next += n;
        }
    }

    private static List<Long> numbers(String idsJson) {
        List<Long> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\d+").matcher(idsJson.substring(idsJson.indexOf('[')));
        while (m.find()) {
            out.add(Long.parseLong(m.group()));
        }
        return out;
    }
}
