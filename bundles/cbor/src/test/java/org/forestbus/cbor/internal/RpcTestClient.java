package org.forestbus.cbor.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORGenerator;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny CBOR-RPC client, independent of the server code (plain Jackson generator and tree
 * reader, or hand-assembled bytes), for tests and acceptance scripts.
 *
 * <p>Two reading modes, not to be mixed on one connection: raw ({@link #readExact},
 * {@link #awaitEof}) and parsed ({@link #read}, which keeps a buffering parser).
 *
 * <p>Command line: {@code RpcTestClient host:port cluster | details TOPIC | send TOPIC MSG... |
 * get TOPIC ID QUANTITY [wait]} prints the decoded response header and body as JSON.
 */
public final class RpcTestClient implements Closeable {

    /** A decoded response: header fields and the body as a tree (byte strings are binary nodes). */
    public record Response(String serviceMethod, long seq, String error, JsonNode body) {
        public int code() {
            return body.path("Result").path("Code").asInt(-1);
        }
    }

    private static final CBORFactory CBOR = new CBORFactory();
    private static final ObjectMapper MAPPER = new CBORMapper();

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private JsonParser parser;

    public RpcTestClient(String host, int port) throws IOException {
        this(host, port, 0);
    }

    /** Connects with a receive buffer of {@code receiveBufferBytes} (0 = the system's) set before the connection, so it caps the window. */
    public RpcTestClient(String host, int port, int receiveBufferBytes) throws IOException {
        socket = new Socket();
        if (receiveBufferBytes > 0) {
            socket.setReceiveBufferSize(receiveBufferBytes);
        }
        socket.connect(new InetSocketAddress(host, port), 10_000);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** Writes raw bytes. */
    public void writeRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Writes one request: header {@code {ServiceMethod, Seq}} then the arguments map (text keys). */
    public void send(String serviceMethod, long seq, Map<String, ?> args) throws IOException {
        writeRaw(request(serviceMethod, seq, args));
    }

    /** Sends a request and reads the next response (which must be its own: no pipelining). */
    public Response call(String serviceMethod, long seq, Map<String, ?> args) throws IOException {
        send(serviceMethod, seq, args);
        return read();
    }

    /**
     * Encodes a request with Jackson's generator. Values: String (text), byte[] (bytes),
     * Number (int), Boolean, List of byte[] or String, null.
     */
    public static byte[] request(String serviceMethod, long seq, Map<String, ?> args) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (CBORGenerator g = CBOR.createGenerator(buf)) {
            g.writeStartObject(null, 2);
            g.writeFieldName("ServiceMethod");
            g.writeString(serviceMethod);
            g.writeFieldName("Seq");
            g.writeNumberUnsigned(seq);
            g.writeEndObject();
            g.writeStartObject(null, args.size());
            for (Map.Entry<String, ?> e : args.entrySet()) {
                g.writeFieldName(e.getKey());
                writeValue(g, e.getValue());
            }
            g.writeEndObject();
        }
        return buf.toByteArray();
    }

    private static void writeValue(CBORGenerator g, Object v) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof byte[] b) {
            g.writeBinary(b);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Number n) {
            g.writeNumber(n.longValue());
        } else if (v instanceof List<?> l) {
            g.writeStartArray(null, l.size());
            for (Object o : l) {
                writeValue(g, o);
            }
            g.writeEndArray();
        } else {
            throw new IllegalArgumentException("unsupported value " + v.getClass());
        }
    }

    /** Reads exactly {@code n} raw bytes (fails on EOF or after the socket timeout). */
    public byte[] readExact(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new IOException("EOF after " + b.length + " of " + n + " bytes: " + HexFormat.of().formatHex(b));
        }
        return b;
    }

    /** True when the server closes the connection (EOF or reset) within the socket timeout; reads and drops data. */
    public boolean awaitEof() throws IOException {
        byte[] buf = new byte[8192];
        try {
            while (true) {
                if (in.read(buf) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset by the server
        }
    }

    /** Reads and decodes the next response. */
    public Response read() throws IOException {
        if (parser == null) {
            parser = CBOR.createParser(in);
        }
        if (parser.nextToken() == null) {
            throw new IOException("connection closed by the server");
        }
        JsonNode header = MAPPER.readTree(parser);
        if (parser.nextToken() == null) {
            throw new IOException("connection closed before the response body");
        }
        JsonNode body = MAPPER.readTree(parser);
        return new Response(header.path("ServiceMethod").asText(),
                header.path("Seq").bigIntegerValue().longValue(), header.path("Error").asText(), body);
    }

    public void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** Closes with a reset (RST) instead of an orderly end of stream. */
    public void abort() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    // ---- hand-assembled CBOR for golden tests (independent of any encoder) --------------------

    /** Bytes from hex with optional spaces. */
    public static byte[] hex(String h) {
        return HexFormat.of().parseHex(h.replace(" ", ""));
    }

    /** A text string item (major 3) with the shortest length header. */
    public static byte[] text(String s) {
        return item(3, s.getBytes(StandardCharsets.UTF_8));
    }

    /** A byte string item (major 2) with the shortest length header. */
    public static byte[] bytes(String s) {
        return item(2, s.getBytes(StandardCharsets.UTF_8));
    }

    /** Concatenates byte arrays. */
    public static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    private static byte[] item(int major, byte[] content) {
        int n = content.length;
        byte[] head;
        if (n < 24) {
            head = new byte[] {(byte) (major << 5 | n)};
        } else if (n < 256) {
            head = new byte[] {(byte) (major << 5 | 24), (byte) n};
        } else {
            head = new byte[] {(byte) (major << 5 | 25), (byte) (n >> 8), (byte) n};
        }
        return cat(head, content);
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: RpcTestClient host:port cluster | details TOPIC | send TOPIC MSG... | get TOPIC ID QUANTITY [wait]");
            System.exit(2);
        }
        int colon = args[0].lastIndexOf(':');
        try (RpcTestClient c = new RpcTestClient(args[0].substring(0, colon), Integer.parseInt(args[0].substring(colon + 1)))) {
            Map<String, Object> a = new LinkedHashMap<>();
            String method;
            switch (args[1]) {
                case "cluster" -> method = "RPCHandler.GetClusterDetails";
                case "details" -> {
                    method = "RPCHandler.GetTopicDetails";
                    a.put("Topic", args[2]);
                }
                case "send" -> {
                    method = "RPCHandler.SendMessages";
                    a.put("Topic", args[2]);
                    List<byte[]> msgs = new ArrayList<>();
                    for (int i = 3; i < args.length; i++) {
                        msgs.add(args[i].getBytes(StandardCharsets.UTF_8));
                    }
                    a.put("SentMessages", msgs);
                    a.put("WaitForCommit", true);
                }
                case "get" -> {
                    method = "RPCHandler.ReceiveMessages";
                    a.put("Topic", args[2]);
                    a.put("ID", Long.parseLong(args[3]));
                    a.put("Quantity", Long.parseLong(args[4]));
                    a.put("WaitForMessages", args.length > 5 && args[5].equals("wait"));
                }
                default -> throw new IllegalArgumentException("unknown command " + args[1]);
            }
            Response r = c.call(method, 1, a);
            System.out.println("{\"Error\":\"" + r.error() + "\",\"Seq\":" + r.seq() + ",\"Body\":"
                    + new ObjectMapper().writeValueAsString(r.body()) + "}");
            JsonNode msgs = r.body().path("ReceivedMessages");
            for (JsonNode m : msgs) {
                if (m.isBinary()) {
                    System.out.println("message: " + new String(m.binaryValue(), StandardCharsets.UTF_8));
                }
            }
        }
    }
}
