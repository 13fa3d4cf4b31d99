package org.forestbus.http.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.forestbus.api.ForestBusException;
import org.forestbus.api.ErrorCode;
import org.forestbus.api.NotLeaderException;
import org.forestbus.api.Role;
import org.forestbus.api.ShuttingDownException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real Jetty on a free port, real HTTP; only the topic side is faked. */
class HttpEndpointTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CBORMapper CBOR = new CBORMapper();
    private static ExecutorService clientPool;
    private static HttpClient client;

    private ScheduledExecutorService timer;
    private Fakes.Registry registry;
    private FakeTopic orders;
    private final List<HttpEndpoint> endpoints = new ArrayList<>();
    private HttpEndpoint endpoint;

    @BeforeAll
    static void client() {
        clientPool = Executors.newFixedThreadPool(4);
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(clientPool)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void closeClient() {
        clientPool.shutdownNow();
    }

    @BeforeEach
    void start() throws Exception {
        timer = Executors.newSingleThreadScheduledExecutor();
        orders = new FakeTopic("orders", "n1", timer);
        registry = new Fakes.Registry().add(orders).add(new FakeTopic("audit", "n2", timer));
        endpoint = start(Settings.defaults());
    }

    /** Starts an endpoint; the short stop timeout only shortens teardown (idle keep-alive connections). */
    private HttpEndpoint start(Settings s) throws Exception {
        return startExactly(s.withStopTimeoutMs(100));
    }

    private HttpEndpoint startExactly(Settings s) throws Exception {
        HttpEndpoint e = new HttpEndpoint(registry, new Fakes.Node(), s);
        endpoints.add(e);
        return e;
    }

    @AfterEach
    void stop() {
        endpoints.forEach(HttpEndpoint::deactivate);
        timer.shutdownNow();
    }

    // ------------------------------------------------------------------ helpers

    record Resp(int status, String contentType, byte[] body, HttpResponse<byte[]> raw) {
        JsonNode json() throws IOException {
            assertThat(contentType).as("content type of %s", text()).isEqualTo("application/json");
            return JSON.readTree(body);
        }

        JsonNode cbor() throws IOException {
            assertThat(contentType).isEqualTo("application/cbor");
            return CBOR.readTree(body);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private URI uri(HttpEndpoint e, String path) {
        return URI.create("http://127.0.0.1:" + e.port() + path);
    }

    private Resp get(String path, String... headers) throws Exception {
        return send(endpoint, HttpRequest.newBuilder(uri(endpoint, path)).GET(), headers);
    }

    private Resp post(String path, String contentType, byte[] body, String... headers) throws Exception {
        return post(endpoint, path, contentType, body, headers);
    }

    private Resp post(HttpEndpoint e, String path, String contentType, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(e, path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(e, b, headers);
    }

    private Resp send(HttpEndpoint e, HttpRequest.Builder b, String... headers) throws Exception {
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return toResp(client.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray()));
    }

    private static Resp toResp(HttpResponse<byte[]> r) {
        return new Resp(r.statusCode(), r.headers().firstValue("Content-Type").orElse(null), r.body(), r);
    }

    private static byte[] json(Object o) throws IOException {
        return JSON.writeValueAsBytes(o);
    }

    private static void assertError(Resp r, int status, ErrorCode code, String textPart) throws IOException {
        assertThat(r.status()).as(r.text()).isEqualTo(status);
        JsonNode j = r.json();
        assertThat(j.get("code").asInt()).as(r.text()).isEqualTo(code.wireCode());
        assertThat(j.get("error").asText()).contains(textPart);
        assertThat(j.has("leader")).isTrue();
    }

    // ------------------------------------------------------------------ routes

    @Test
    void healthAnswersOk() throws Exception {
        Resp r = get("/health");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("status").asText()).isEqualTo("ok");
    }

    @Test
    void clusterNamesNodePeersAndTopics() throws Exception {
        JsonNode j = get("/cluster").json();
        assertThat(j.get("clusterId").asText()).isEqualTo("test-cluster");
        assertThat(j.get("node").asText()).isEqualTo("n1");
        assertThat(JSON.convertValue(j.get("peers"), List.class)).containsExactly("n1", "n2", "n3");
        assertThat(JSON.convertValue(j.get("topics"), List.class)).containsExactly("audit", "orders");
    }

    @Test
    void topicsListsEveryTopicWithStatus() throws Exception {
        JsonNode j = get("/topics").json().get("topics");
        assertThat(j).hasSize(2);
        assertThat(j.get(0).get("name").asText()).isEqualTo("audit");
        assertThat(j.get(1).get("name").asText()).isEqualTo("orders");
    }

    @Test
    void topicStatusShowsIndexesRoleAndLeader() throws Exception {
        post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("a", "b"))));
        orders.role = Role.FOLLOWER;
        orders.leader = "n2";
        JsonNode j = get("/topics/orders").json();
        assertThat(j.get("name").asText()).isEqualTo("orders");
        assertThat(j.get("firstIndex").asLong()).isEqualTo(1);
        assertThat(j.get("lastIndex").asLong()).isEqualTo(2);
        assertThat(j.get("commitIndex").asLong()).isEqualTo(2);
        assertThat(j.get("role").asText()).isEqualTo("follower");
        assertThat(j.get("leader").asText()).isEqualTo("n2");

        orders.leader = null;
        assertThat(get("/topics/orders").json().get("leader").isNull()).isTrue();
    }

    @Test
    void jsonSendThenReadRoundTrip() throws Exception {
        Resp sent = post("/topics/orders/messages", "application/json",
                json(Map.of("messages", List.of("hello", "wörld ✓"))));
        assertThat(sent.status()).as(sent.text()).isEqualTo(200);
        assertThat(JSON.convertValue(sent.json().get("ids"), long[].class)).containsExactly(1, 2);
        assertThat(orders.lastWaitForCommit).isTrue();

        JsonNode read = get("/topics/orders/messages?from=1").json();
        assertThat(read.get("messages")).hasSize(2);
        assertThat(read.get("messages").get(0).get("id").asLong()).isEqualTo(1);
        assertThat(read.get("messages").get(0).get("data").asText()).isEqualTo("hello");
        assertThat(read.get("messages").get(1).get("id").asLong()).isEqualTo(2);
        assertThat(read.get("messages").get(1).get("data").asText()).isEqualTo("wörld ✓");
        assertThat(read.get("nextId").asLong()).isEqualTo(3);

        JsonNode second = get("/topics/orders/messages?from=2&max=5").json();
        assertThat(second.get("messages")).hasSize(1);
        assertThat(second.get("nextId").asLong()).isEqualTo(3);
    }

    @Test
    void fromDefaultsToOneAndWaitForCommitFalseIsPassedOn() throws Exception {
        post("/topics/orders/messages", "application/json; charset=utf-8",
                json(Map.of("messages", List.of("x"), "waitForCommit", false)));
        assertThat(orders.lastWaitForCommit).isFalse();
        JsonNode read = get("/topics/orders/messages").json();
        assertThat(read.get("messages").get(0).get("data").asText()).isEqualTo("x");
    }

    @Test
    void base64RoundTripKeepsEveryByte() throws Exception {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        byte[] a = new byte[256];
        for (int i = 0; i < 256; i++) {
            a[i] = (byte) i;
        }
        byte[] b = new byte[1 + rnd.nextInt(5000)];
        rnd.nextBytes(b);
        Base64.Encoder enc = Base64.getEncoder();
        Resp sent = post("/topics/orders/messages", "application/json", json(Map.of(
                "encoding", "base64", "messages", List.of(enc.encodeToString(a), enc.encodeToString(b)))));
        assertThat(sent.status()).as("seed %d: %s", seed, sent.text()).isEqualTo(200);

        JsonNode read = get("/topics/orders/messages?encoding=base64").json().get("messages");
        assertThat(Base64.getDecoder().decode(read.get(0).get("data").asText())).as("seed %d", seed).isEqualTo(a);
        assertThat(Base64.getDecoder().decode(read.get(1).get("data").asText())).as("seed %d", seed).isEqualTo(b);
    }

    @Test
    void invalidUtf8PayloadReadAsUtf8BecomesReplacementCharacter() throws Exception {
        post("/topics/orders/messages", "application/octet-stream", new byte[] {'a', (byte) 0xff, 'b'});
        JsonNode read = get("/topics/orders/messages").json().get("messages");
        assertThat(read.get(0).get("data").asText()).isEqualTo("a\uFFFDb");
    }

    @Test
    void asciiPayloadsNeedingEscapesSurviveTheFastPath() throws Exception {
        String nasty = "q\"uote\\back\nline\u0001ctl</script>";
        post("/topics/orders/messages", "application/octet-stream", nasty.getBytes(StandardCharsets.US_ASCII));
        Resp r = get("/topics/orders/messages");
        assertThat(r.json().get("messages").get(0).get("data").asText()).isEqualTo(nasty);
    }

    @Test
    void octetStreamBodyIsOneMessage() throws Exception {
        byte[] body = {0, 1, 2, (byte) 0xfe, '{', '"'};
        Resp sent = post("/topics/orders/messages?waitForCommit=false", "application/octet-stream", body);
        assertThat(sent.status()).as(sent.text()).isEqualTo(200);
        assertThat(JSON.convertValue(sent.json().get("ids"), long[].class)).containsExactly(1);
        assertThat(orders.lastWaitForCommit).isFalse();
        assertThat(orders.size()).isEqualTo(1);

        JsonNode read = get("/topics/orders/messages?encoding=base64").json();
        assertThat(Base64.getDecoder().decode(read.get("messages").get(0).get("data").asText())).isEqualTo(body);
    }

    @Test
    void cborRoundTripUsesByteStrings() throws Exception {
        byte[] binary = {(byte) 0x80, 0, (byte) 0xff};
        byte[] body = CBOR.writeValueAsBytes(Map.of("messages", List.of(binary, "text")));
        Resp sent = post("/topics/orders/messages", "application/cbor", body);
        assertThat(sent.status()).isEqualTo(200);
        assertThat(sent.cbor().get("ids").get(1).asLong()).isEqualTo(2); // CBOR body -> CBOR answer

        Resp read = get("/topics/orders/messages", "Accept", "application/cbor");
        JsonNode msgs = read.cbor().get("messages");
        assertThat(msgs.get(0).get("id").asLong()).isEqualTo(1);
        assertThat(msgs.get(0).get("data").isBinary()).isTrue();
        assertThat(msgs.get(0).get("data").binaryValue()).isEqualTo(binary);
        assertThat(msgs.get(1).get("data").binaryValue()).isEqualTo("text".getBytes(StandardCharsets.UTF_8));
        assertThat(read.cbor().get("nextId").asLong()).isEqualTo(3);
    }

    @Test
    void acceptDecidesTheAnswerFormat() throws Exception {
        byte[] body = CBOR.writeValueAsBytes(Map.of("messages", List.of("q")));
        Resp jsonAnswer = post("/topics/orders/messages", "application/cbor", body, "Accept", "application/json");
        assertThat(jsonAnswer.json().get("ids").get(0).asLong()).isEqualTo(1);

        Resp cborAnswer = post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("r"))),
                "Accept", "application/json;q=0.5, application/cbor");
        assertThat(cborAnswer.cbor().get("ids").get(0).asLong()).isEqualTo(2);

        assertThat(get("/topics/orders", "Accept", "application/cbor").cbor().get("name").asText()).isEqualTo("orders");
        assertThat(get("/cluster", "Accept", "application/cbor").cbor().get("node").asText()).isEqualTo("n1");
        assertThat(get("/health", "Accept", "*/*").json().get("status").asText()).isEqualTo("ok");
    }

    // ------------------------------------------------------------------ errors

    @Test
    void unknownTopicIs404TopicNotFound() throws Exception {
        assertError(get("/topics/nope"), 404, ErrorCode.TOPIC_NOT_FOUND, "nope");
        assertError(get("/topics/nope/messages"), 404, ErrorCode.TOPIC_NOT_FOUND, "nope");
        assertError(post("/topics/nope/messages", "application/json", json(Map.of("messages", List.of("a")))),
                404, ErrorCode.TOPIC_NOT_FOUND, "nope");
    }

    @Test
    void cborErrorsForCborClients() throws Exception {
        Resp r = get("/topics/nope", "Accept", "application/cbor");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.cbor().get("code").asInt()).isEqualTo(ErrorCode.TOPIC_NOT_FOUND.wireCode());
    }

    @Test
    void unknownRouteIs404() throws Exception {
        assertError(get("/nowhere"), 404, ErrorCode.BAD_REQUEST, "no route /nowhere");
        assertError(get("/topics/orders/other"), 404, ErrorCode.BAD_REQUEST, "no route");
    }

    @Test
    void wrongMethodIs405WithAllow() throws Exception {
        Resp r = post("/health", "application/json", new byte[0]);
        assertError(r, 405, ErrorCode.BAD_REQUEST, "POST");
        assertThat(r.raw().headers().firstValue("Allow")).hasValue("GET");
        Resp del = send(endpoint, HttpRequest.newBuilder(uri(endpoint, "/topics/orders/messages")).DELETE());
        assertError(del, 405, ErrorCode.BAD_REQUEST, "DELETE");
        assertThat(del.raw().headers().firstValue("Allow")).hasValue("GET, POST");
    }

    @Test
    void notLeaderIs421WithTheLeadersHttpAddress() throws Exception {
        orders.failure.set(new NotLeaderException("orders", "n2"));
        Resp r = post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("a"))));
        assertError(r, 421, ErrorCode.NOT_LEADER, "not the leader");
        assertThat(r.json().get("leader").asText()).isEqualTo("10.0.0.2:8002");

        orders.failure.set(new NotLeaderException("orders", "n3")); // known peer without an HTTP address
        assertThat(post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("a"))))
                .json().get("leader").isNull()).isTrue();
        orders.failure.set(new NotLeaderException("orders", null));
        Resp none = post("/topics/orders/messages", "application/octet-stream", new byte[] {1});
        assertError(none, 421, ErrorCode.NOT_LEADER, "no leader");
        assertThat(none.json().get("leader").isNull()).isTrue();
    }

    @Test
    void membersAreShownAndChangedAndLeadershipTransferred() throws Exception {
        JsonNode m = get("/topics/orders/members").json();
        assertThat(JSON.convertValue(m.get("voters"), List.class)).containsExactly("n1", "n2", "n3");
        assertThat(JSON.convertValue(m.get("learners"), List.class)).isEmpty();
        assertThat(m.get("configIndex").asLong()).isEqualTo(7);
        assertThat(m.get("replicated").get("n2").asLong()).isEqualTo(5);

        Resp added = post("/topics/orders/members?change=add-learner&node=n4", null, new byte[0]);
        assertThat(added.status()).as(added.text()).isEqualTo(200);
        assertThat(JSON.convertValue(added.json().get("learners"), List.class)).containsExactly("n4");
        Resp promoted = post("/topics/orders/members?change=PROMOTE&node=n4", null, new byte[0]);
        assertThat(JSON.convertValue(promoted.json().get("voters"), List.class)).containsExactly("n1", "n2", "n3", "n4");

        assertError(post("/topics/orders/members?change=grow&node=n4", null, new byte[0]), 400, ErrorCode.BAD_REQUEST,
                "add-learner, promote or remove");
        assertError(post("/topics/orders/members?change=remove", null, new byte[0]), 400, ErrorCode.BAD_REQUEST,
                "parameter node is required");

        Resp moved = post("/topics/orders/leader?node=n2", null, new byte[0]);
        assertThat(moved.status()).as(moved.text()).isEqualTo(200);
        assertThat(moved.json().get("leader").asText()).isEqualTo("n2");
        assertThat(orders.transferredTo).isEqualTo("n2");

        orders.failure.set(new NotLeaderException("orders", "n2"));
        Resp r = post("/topics/orders/members?change=remove&node=n3", null, new byte[0]);
        assertError(r, 421, ErrorCode.NOT_LEADER, "not the leader");
        assertThat(r.json().get("leader").asText()).isEqualTo("10.0.0.2:8002");
    }

    @Test
    void shuttingDownTopicIs503() throws Exception {
        orders.failure.set(new ShuttingDownException("topic orders"));
        assertError(get("/topics/orders/messages"), 503, ErrorCode.SHUTTING_DOWN, "shutting down");
    }

    @Test
    void storageFailureIs500WithTheReason() throws Exception {
        orders.failure.set(new ForestBusException(ErrorCode.INTERNAL_ERROR, "disk full on segment 7"));
        assertError(post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("a")))),
                500, ErrorCode.INTERNAL_ERROR, "disk full on segment 7");
        orders.failure.set(new IllegalStateException("bug in topic"));
        assertError(get("/topics/orders/messages"), 500, ErrorCode.INTERNAL_ERROR, "bug in topic");
    }

    @Test
    void garbageBodiesAre400() throws Exception {
        assertError(post("/topics/orders/messages", "application/json", "{not json".getBytes()), 400,
                ErrorCode.BAD_REQUEST, "malformed JSON");
        Resp cbor = post("/topics/orders/messages", "application/cbor", new byte[] {(byte) 0xff, 0x13});
        assertThat(cbor.status()).isEqualTo(400);
        assertThat(cbor.cbor().get("error").asText()).contains("malformed CBOR");
        assertError(post("/topics/orders/messages", "application/json", "[1,2]".getBytes()), 400,
                ErrorCode.BAD_REQUEST, "object");
        assertError(post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of()))), 400,
                ErrorCode.BAD_REQUEST, "empty");
        assertError(post("/topics/orders/messages", "application/json", json(Map.of("nothing", 1))), 400,
                ErrorCode.BAD_REQUEST, "messages");
        assertError(post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of(1)))), 400,
                ErrorCode.BAD_REQUEST, "not a string");
        assertError(post("/topics/orders/messages", "application/json",
                json(Map.of("messages", List.of("%%%"), "encoding", "base64"))), 400, ErrorCode.BAD_REQUEST, "base64");
        assertError(post("/topics/orders/messages", "application/json",
                json(Map.of("messages", List.of("a"), "encoding", "rot13"))), 400, ErrorCode.BAD_REQUEST, "rot13");
        assertError(post("/topics/orders/messages", "application/json", "{\"messages\":[\"a\"]} x".getBytes()), 400,
                ErrorCode.BAD_REQUEST, "malformed");
        assertError(post("/topics/orders/messages?waitForCommit=maybe", "application/octet-stream", new byte[1]), 400,
                ErrorCode.BAD_REQUEST, "waitForCommit");
        Resp type = post("/topics/orders/messages", "text/plain", "a".getBytes());
        assertError(type, 415, ErrorCode.BAD_REQUEST, "text/plain");
        assertThat(orders.size()).isZero();
    }

    @Test
    void badReadParametersAre400() throws Exception {
        assertError(get("/topics/orders/messages?from=abc"), 400, ErrorCode.BAD_REQUEST, "from");
        assertError(get("/topics/orders/messages?from=-1"), 400, ErrorCode.BAD_REQUEST, "from");
        assertError(get("/topics/orders/messages?max=0"), 400, ErrorCode.BAD_REQUEST, "max");
        assertError(get("/topics/orders/messages?wait=-5"), 400, ErrorCode.BAD_REQUEST, "wait");
        assertError(get("/topics/orders/messages?encoding=hex"), 400, ErrorCode.BAD_REQUEST, "hex");
    }

    @Test
    void contentLengthOverTheLimitIs413BeforeReading() throws Exception {
        HttpEndpoint small = start(Settings.defaults().withMaxRequestBytes(1024));
        Resp r = post(small, "/topics/orders/messages", "application/octet-stream", new byte[2048]);
        assertError(r, 413, ErrorCode.TOO_LARGE, "max.request.bytes");
        assertThat(r.json().get("error").asText()).contains("1024");
        Resp ok = post(small, "/topics/orders/messages", "application/octet-stream", new byte[1024]);
        assertThat(ok.status()).as(ok.text()).isEqualTo(200);

        // headers only: the answer comes without the server waiting for the 100 000 declared bytes
        try (Socket s = new Socket("127.0.0.1", small.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("POST /topics/orders/messages HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n").getBytes());
            byte[] head = s.getInputStream().readNBytes(12);
            assertThat(new String(head, StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 413");
        }
    }

    @Test
    void sendBodiesBeyondTheBufferedLimitAre503BusyAndTheLimitFreesWhenTheyAreAnswered() throws Exception {
        HttpEndpoint small = start(Settings.defaults().withMaxBufferedSendBytes(100_000));
        byte[] head = ("POST /topics/orders/messages HTTP/1.1\r\nHost: x\r\n"
                + "Content-Type: application/octet-stream\r\nContent-Length: 60000\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        try (Socket a = new Socket("127.0.0.1", small.port()); Socket b = new Socket("127.0.0.1", small.port())) {
            a.setSoTimeout(10_000);
            b.setSoTimeout(10_000);
            // two bodies on their way (headers and a little): 120,000 declared bytes held
            a.getOutputStream().write(head);
            a.getOutputStream().write(new byte[10]);
            b.getOutputStream().write(head);
            b.getOutputStream().write(new byte[10]);
            await().atMost(Duration.ofSeconds(10)).until(() -> small.api().bufferedSendBytes() == 120_000);
            // a third is refused at once, nothing stored; reads go on
            Resp busy = post(small, "/topics/orders/messages", "application/octet-stream", new byte[100]);
            assertError(busy, 503, ErrorCode.BUSY, "max.buffered.send.bytes");
            assertThat(busy.raw().headers().firstValue("Retry-After")).hasValue("1");
            assertThat(get("/topics/orders").status()).isEqualTo(200);
            assertThat(orders.size()).isZero();
            // the first body completes and is answered: its bytes are given back
            a.getOutputStream().write(new byte[60_000 - 10]);
            byte[] status = a.getInputStream().readNBytes(12);
            assertThat(new String(status, StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 200");
            await().atMost(Duration.ofSeconds(10)).until(() -> small.api().bufferedSendBytes() == 60_000);
            assertThat(post(small, "/topics/orders/messages", "application/octet-stream", new byte[100]).status()).isEqualTo(200);
        }
        // the second client left with its body unfinished: its bytes are given back too
        await().atMost(Duration.ofSeconds(10)).until(() -> small.api().bufferedSendBytes() == 0);
        assertThat(orders.size()).isEqualTo(2);
    }

    @Test
    void chunkedBodyOverTheLimitIs413() throws Exception {
        HttpEndpoint small = start(Settings.defaults().withMaxRequestBytes(1024));
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(small, "/topics/orders/messages"))
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(new byte[4096])));
        Resp r = send(small, b);
        assertError(r, 413, ErrorCode.TOO_LARGE, "max.request.bytes");
        assertThat(orders.size()).isZero();

        HttpRequest.Builder fits = HttpRequest.newBuilder(uri(small, "/topics/orders/messages"))
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(new byte[1000])));
        assertThat(send(small, fits).status()).isEqualTo(200);
        assertThat(orders.size()).isEqualTo(1);

        // an unfinished chunked body: 413 as soon as the limit is passed, not at the end of the body
        try (Socket s = new Socket("127.0.0.1", small.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("POST /topics/orders/messages HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "800\r\n" + "a".repeat(0x800) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            byte[] head = s.getInputStream().readNBytes(12);
            assertThat(new String(head, StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 413");
        }
        assertThat(orders.size()).isEqualTo(1);
    }

    @Test
    void tooManyMessagesIs413() throws Exception {
        HttpEndpoint small = start(Settings.defaults().withMaxMessagesPerRequest(3));
        Resp r = post(small, "/topics/orders/messages", "application/json",
                json(Map.of("messages", List.of("1", "2", "3", "4"))));
        assertError(r, 413, ErrorCode.TOO_LARGE, "max.messages.per.request");
        assertThat(post(small, "/topics/orders/messages", "application/json",
                json(Map.of("messages", List.of("1", "2", "3")))).status()).isEqualTo(200);
    }

    @Test
    void readLimitsAreClamped() throws Exception {
        HttpEndpoint small = start(Settings.defaults().withReadLimits(3, 1 << 20, 200));
        post(small, "/topics/orders/messages", "application/json", json(Map.of("messages", List.of("1", "2", "3", "4", "5"))));
        Resp r = send(small, HttpRequest.newBuilder(uri(small, "/topics/orders/messages?max=1000")).GET());
        assertThat(r.json().get("messages")).hasSize(3);
        assertThat(r.json().get("nextId").asLong()).isEqualTo(4);
        assertThat(orders.lastMaxMessages).isEqualTo(3);

        Resp waited = send(small, HttpRequest.newBuilder(uri(small, "/topics/orders/messages?from=6&wait=600000")).GET());
        assertThat(waited.json().get("messages")).isEmpty();
        assertThat(orders.lastWaitMillis).isEqualTo(200);
    }

    // ------------------------------------------------------------------ long-poll

    @Test
    void longPollWakesWhenAMessageIsSent() throws Exception {
        long t0 = System.nanoTime();
        CompletableFuture<HttpResponse<byte[]>> poll = client.sendAsync(
                HttpRequest.newBuilder(uri(endpoint, "/topics/orders/messages?from=1&wait=20000")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoint.pendingPolls() == 1);
        assertThat(poll).isNotDone();

        post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("wake"))));
        Resp r = toResp(poll.get(10, TimeUnit.SECONDS));
        assertThat(r.json().get("messages").get(0).get("data").asText()).isEqualTo("wake");
        assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(15)); // not the 20 s wait
        assertThat(endpoint.pendingPolls()).isZero();
    }

    @Test
    void longPollTimesOutWithAnEmptyList() throws Exception {
        post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("a"))));
        long t0 = System.nanoTime();
        JsonNode j = get("/topics/orders/messages?from=2&wait=300").json();
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
        assertThat(j.get("messages")).isEmpty();
        assertThat(j.get("nextId").asLong()).isEqualTo(2);
    }

    @Test
    void longPollOutlivesTheConnectionIdleTimeout() throws Exception {
        HttpEndpoint shortIdle = start(Settings.defaults().withIdleTimeoutMs(200));
        Resp r = send(shortIdle, HttpRequest.newBuilder(uri(shortIdle, "/topics/orders/messages?wait=1000")).GET());
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        assertThat(r.json().get("messages")).isEmpty();
    }

    @Test
    void hundredConcurrentLongPollsDoNotAddHundredThreads() throws Exception {
        int polls = 100;
        int maxThreads = 12; // fewer threads than polls: parking a thread per poll could not reach 100
        endpoint.deactivate(); // only one forestbus-http pool in the JVM, so its threads can be counted
        endpoints.remove(endpoint);
        endpoint = start(Settings.defaults().withMaxThreads(maxThreads));
        get("/health"); // warm up the pool and the client
        int before = Thread.activeCount();
        List<CompletableFuture<HttpResponse<byte[]>>> futures = new ArrayList<>();
        for (int i = 0; i < polls; i++) {
            futures.add(client.sendAsync(
                    HttpRequest.newBuilder(uri(endpoint, "/topics/orders/messages?from=1&wait=30000")).build(),
                    HttpResponse.BodyHandlers.ofByteArray()));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> endpoint.pendingPolls() == polls);
        int during = Thread.activeCount();
        long jettyThreads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(HttpEndpoint.THREAD_NAME)).count();
        System.out.printf("threads: %d before, %d with %d long-polls parked (%d in the Jetty pool)%n",
                before, during, polls, jettyThreads);
        assertThat(during - before).as("threads added for %d parked long-polls", polls).isLessThan(25);
        assertThat(jettyThreads).isLessThanOrEqualTo(maxThreads);

        post("/topics/orders/messages", "application/json", json(Map.of("messages", List.of("all"))));
        for (CompletableFuture<HttpResponse<byte[]>> f : futures) {
            Resp r = toResp(f.get(20, TimeUnit.SECONDS));
            assertThat(r.json().get("messages").get(0).get("data").asText()).isEqualTo("all");
        }
    }

    @Test
    void sendNotAcknowledgedWithinTheIdleTimeoutIsAnsweredAsUnknownOutcome() throws Exception {
        HttpEndpoint shortIdle = start(Settings.defaults().withIdleTimeoutMs(300));
        orders.holdSends = true;
        Resp r = post(shortIdle, "/topics/orders/messages", "application/json", json(Map.of("messages", List.of("a"))));
        assertError(r, 500, ErrorCode.INTERNAL_ERROR, "idle.timeout.ms");
        assertThat(r.json().get("error").asText()).contains("may or may not be stored");
        orders.releaseHeld(); // a late acknowledgement is ignored
    }

    // ------------------------------------------------------------------ lifecycle

    @Test
    void deactivateLetsAnInFlightSendFinish() throws Exception {
        HttpEndpoint e = startExactly(Settings.defaults().withStopTimeoutMs(10_000));
        orders.holdSends = true;
        CompletableFuture<HttpResponse<byte[]>> sent = client.sendAsync(
                HttpRequest.newBuilder(uri(e, "/topics/orders/messages")).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(json(Map.of("messages", List.of("late"))))).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        await().atMost(Duration.ofSeconds(10)).until(() -> orders.heldSends() == 1);

        ExecutorService stopper = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<Void> stopped = CompletableFuture.runAsync(e::deactivate, stopper);
            endpoints.remove(e);
            await().atMost(Duration.ofSeconds(10)).until(() -> !accepts(e.port())); // shutdown has begun
            assertThat(stopped).isNotDone();
            orders.releaseHeld();
            Resp r = toResp(sent.get(10, TimeUnit.SECONDS));
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            assertThat(r.json().get("ids").get(0).asLong()).isEqualTo(1);
            stopped.get(10, TimeUnit.SECONDS);
        } finally {
            stopper.shutdownNow();
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void deactivateAnswersParkedPollsWith503AndClosesThePort() throws Exception {
        int port = endpoint.port();
        CompletableFuture<HttpResponse<byte[]>> poll = client.sendAsync(
                HttpRequest.newBuilder(uri(endpoint, "/topics/orders/messages?from=1&wait=20000")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        await().atMost(Duration.ofSeconds(10)).until(() -> endpoint.pendingPolls() == 1);

        endpoint.deactivate();
        endpoints.remove(endpoint);

        assertError(toResp(poll.get(10, TimeUnit.SECONDS)), 503, ErrorCode.SHUTTING_DOWN, "shutting down");
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            }
        }).isInstanceOf(IOException.class);
    }

    @Test
    void malformedHttpGetsAJsonError() throws Exception {
        try (Socket s = new Socket("127.0.0.1", endpoint.port())) {
            s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n".getBytes());
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(answer).startsWith("HTTP/1.1 400");
            assertThat(answer).contains("\"code\":100");
        }
    }
}
