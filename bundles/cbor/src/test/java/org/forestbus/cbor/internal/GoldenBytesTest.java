package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.forestbus.cbor.internal.RpcTestClient.bytes;
import static org.forestbus.cbor.internal.RpcTestClient.cat;
import static org.forestbus.cbor.internal.RpcTestClient.hex;
import static org.forestbus.cbor.internal.RpcTestClient.text;

import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Exact request bytes in, exact response bytes out, as captured from the 2015 server
 * (FORESTBUS-SPEC §6.6, §6.7): definite-length maps, keys in ascending byte order.
 */
class GoldenBytesTest extends ServerTestSupport {

    /** §6.6 GetTopicDetails request, as a non-Go client writes it. */
    static final byte[] GTD_REQUEST = hex("a2 6d 53657276696365 4d6574686f64"
            + " 78 1a 52504348616e646c65722e476574546f70696344657461696c73 63 536571 07"
            + " a1 65 546f706963 61 74");

    /** §6.6 body of the GetTopicDetails response for FirstIndex 1, LastIndex 300, CommitIndex 256. */
    static final byte[] GTD_BODY = hex("a4 6b 436f6d6d6974496e646578 19 0100 6a 4669727374496e646578 01"
            + " 69 4c617374496e646578 19 012c 66 526573756c74 a3 64 436f6465 00"
            + " 6b 4465736372697074696f6e 67 53756363657373 66 457874726131 60");

    static byte[] header(int seqByte, String method, String error) {
        return cat(hex("a3 65 4572726f72"), text(error), hex("63 536571"), new byte[] {(byte) seqByte},
                hex("6d 536572766963654d6574686f64"), text(method));
    }

    static byte[] result(int code, String description, String extra1) {
        return cat(hex("66 526573756c74 a3 64 436f6465"), new byte[] {(byte) code},
                hex("6b 4465736372697074696f6e"), text(description), hex("66 457874726131"), text(extra1));
    }

    FakeTopic t;

    @BeforeEach
    void setUp() throws Exception {
        start();
        t = registry.add(new FakeTopic("t").autoCommit(false).fill(300).commit(256));
    }

    private void assertExchange(byte[] request, byte[] expected) throws Exception {
        try (RpcTestClient c = connect()) {
            c.writeRaw(request);
            byte[] got = c.readExact(expected.length);
            assertThat(HexFormat.of().formatHex(got)).isEqualTo(HexFormat.of().formatHex(expected));
        }
    }

    @Test
    void getTopicDetailsMatchesTheCapturedResponse() throws Exception {
        byte[] expected = cat(hex("a3 65 4572726f72 60 63 536571 07 6d 536572766963654d6574686f64"
                + " 78 1a 52504348616e646c65722e476574546f70696344657461696c73"), GTD_BODY);
        assertExchange(GTD_REQUEST, expected);
    }

    @Test
    void python2ByteStringDialectIsAnsweredNormally() throws Exception {
        // §6.7 captured probe: every key and string a byte string (major type 2)
        byte[] request = hex("a2 4d 53657276696365 4d6574686f64 58 1a 52504348616e646c65722e476574546f70696344657461696c73"
                + " 43 536571 08 a1 45 546f706963 41 74");
        assertExchange(request, cat(header(8, GTD, ""), GTD_BODY));
    }

    @Test
    void arrayFormHeaderAndIndefiniteLengthsAreAccepted() throws Exception {
        byte[] request = cat(hex("82"), text(GTD), hex("09"),
                hex("bf 65 546f706963 7f 61 74 ff ff")); // {_ "Topic": (_ "t")}
        assertExchange(request, cat(header(9, GTD, ""), GTD_BODY));
    }

    @Test
    void unknownKeysAreSkippedAndSeqIsEchoedAsUnsigned64() throws Exception {
        byte[] request = cat(hex("a3 63 536571 1b ffffffffffffffff 65 4578747261 82 f5 a1 61 78 40"),
                bytes("ServiceMethod"), text(GTD),
                hex("a2 65 546f706963 41 74 69 436c75737465724944 f6"));
        byte[] expected = cat(hex("a3 65 4572726f72 60 63 536571 1b ffffffffffffffff"
                + " 6d 536572766963654d6574686f64"), text(GTD), GTD_BODY);
        assertExchange(request, expected);
    }

    @Test
    void sendMessagesToAFollowerAnswersNotLeaderWithTheLeadersCborAddress() throws Exception {
        registry.add(new FakeTopic("f").follower("node-b"));
        byte[] request = cat(hex("a2 6d 536572766963654d6574686f64"), text(SEND), hex("63 536571 05"),
                hex("a3 65 546f706963 61 66 6c 53656e744d65737361676573 81 43 616263 6d 57616974466f72436f6d6d6974 f5"));
        // §6.6: {"IDs": null, "Result": {"Code": 4, "Description": "Node (localhost:3000) is not the leader…", "Extra1": "localhost:3001"}}
        byte[] body = cat(hex("a2 63 494473 f6"), result(4,
                "Node (localhost:3000) is not the leader for this topic.  Last seen leader is (localhost:3001).",
                "localhost:3001"));
        assertThat(HexFormat.of().formatHex(body)).contains("66457874726131" + "6e" + "6c6f63616c686f73743a33303031");
        assertExchange(request, cat(header(5, SEND, ""), body));
    }

    @Test
    void unknownMethodGetsTheNetRpcErrorAndAnEmptyBodyAndTheConnectionGoesOn() throws Exception {
        byte[] request = cat(hex("a2 6d 536572766963654d6574686f64"), text("RPCHandler.Nope"), hex("63 536571 04 a0"),
                GTD_REQUEST);
        byte[] expected = cat(header(4, "RPCHandler.Nope", "rpc: can't find method RPCHandler.Nope"), hex("a0"),
                header(7, GTD, ""), GTD_BODY);
        assertExchange(request, expected);
    }

    @Test
    void unknownServiceAndIllFormedNamesGetNetRpcErrors() throws Exception {
        byte[] request = cat(hex("a2 6d 536572766963654d6574686f64"), text("Foo.Bar"), hex("63 536571 01 a1 61 61 01"),
                hex("a2 6d 536572766963654d6574686f64"), text("nodot"), hex("63 536571 02 f6"));
        byte[] expected = cat(header(1, "Foo.Bar", "rpc: can't find service Foo.Bar"), hex("a0"),
                header(2, "nodot", "rpc: service/method request ill-formed: nodot"), hex("a0"));
        assertExchange(request, expected);
    }

    @Test
    void receiveMessagesForAnUnknownTopicAnswersCode2() throws Exception {
        // deliberate fix: the original replied with the RPC error "Topic not found on server."
        byte[] request = cat(hex("a2 6d 536572766963654d6574686f64"), text(RECV), hex("63 536571 04"),
                hex("a5 69 436c75737465724944 60 65 546f706963"), text("nope"),
                hex("62 4944 0c 68 5175616e74697479 0a 6f 57616974466f724d65737361676573 f4"));
        // NextID echoes ID (12) so a client that ignores the code retries the same ID
        byte[] body = cat(hex("a3 66 4e6578744944 0c 70 52656365697665644d65737361676573 f6"),
                result(2, "Provided Topic ID (nope) was not found on node (localhost:3000).", ""));
        assertExchange(request, cat(header(4, RECV, ""), body));
    }

    @Test
    void python2SendAndReceiveRoundTripPayloadsAsByteStrings() throws Exception {
        FakeTopic p = registry.add(new FakeTopic("py"));
        byte[] send = cat(hex("a2"), bytes("ServiceMethod"), bytes(SEND), bytes("Seq"), hex("01"),
                hex("a3"), bytes("Topic"), bytes("py"), bytes("SentMessages"), hex("83"), bytes("abc"), hex("40"),
                text("é"), bytes("WaitForCommit"), hex("f5"));
        byte[] sendReply = cat(header(1, SEND, ""), hex("a2 63 494473 83 01 02 03"), result(0, "Success", ""));
        byte[] recv = cat(hex("a2"), bytes("ServiceMethod"), bytes(RECV), bytes("Seq"), hex("02"),
                hex("a5"), bytes("ClusterID"), bytes(""), bytes("Topic"), bytes("py"), bytes("ID"), hex("01"),
                bytes("Quantity"), hex("0a"), bytes("WaitForMessages"), hex("f4"));
        byte[] recvReply = cat(header(2, RECV, ""),
                hex("a3 66 4e6578744944 04 70 52656365697665644d65737361676573 83 43 616263 40 42 c3a9"),
                result(0, "Success", ""));
        assertExchange(cat(send, recv), cat(sendReply, recvReply));
        assertThat(p.messages()).hasSize(3);
    }

    @Test
    void getClusterDetailsListsPeerNamesAndTopics() throws Exception {
        byte[] request = cat(hex("a2 6d 536572766963654d6574686f64"), text(GCD), hex("63 536571 03 a0"));
        byte[] body = cat(hex("a4 69 436c75737465724944"), text("c1"), hex("65 5065657273 82"), text("localhost:3000"),
                text("node-b"), result(0, "Success", ""), hex("66 546f70696373 81"), text("t"));
        assertExchange(request, cat(header(3, GCD, ""), body));
    }
}
