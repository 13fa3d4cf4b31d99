package org.forestbus.cbor.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.forestbus.cbor.internal.RpcTestClient.hex;

import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tolerant decoder on its own (FORESTBUS-SPEC §6.5 decoder tolerances). */
class WireReaderTest {

    private static WireReader reader(String hex, int limit) {
        BoundedCborParser p = new BoundedCborParser.Factory(16, limit).boundedParser(new ByteArrayInputStream(hex(hex)));
        WireReader r = new WireReader(p);
        r.budgetEnd(limit);
        return r;
    }

    @Test
    void stringsFromTextOrBytesAndNullAsEmpty() throws IOException {
        WireReader r = reader("83 61 61 42 c3a9 f6", 1 << 20);
        assertThat(r.next()).isEqualTo(JsonToken.START_ARRAY);
        assertThat(r.readString(r.next())).isEqualTo("a");
        assertThat(r.readString(r.next())).isEqualTo("é"); // UTF-8 decoded, not Base64
        assertThat(r.readString(r.next())).isEmpty();
        assertThat(r.problem()).isNull();
    }

    @Test
    void bytesFromBytesOrText() throws IOException {
        WireReader r = reader("82 43 010203 62 6869", 1 << 20);
        r.next();
        assertThat(r.readBytes(r.next())).containsExactly(1, 2, 3);
        assertThat(r.readBytes(r.next())).containsExactly('h', 'i');
    }

    @Test
    void integersAreMajorType0Or1OnlyAndUnsignedSeqKeepsAll64Bits() throws IOException {
        WireReader r = reader("85 20 1b ffffffffffffffff 1b 7fffffffffffffff f9 3c00 3b 7fffffffffffffff", 1 << 20);
        r.next();
        assertThat(r.readLong(r.next())).isEqualTo(-1);
        assertThat(r.readUnsignedLong(r.next())).isEqualTo(-1L); // 2^64-1 as two's complement
        assertThat(r.readLong(r.next())).isEqualTo(Long.MAX_VALUE);
        assertThat(r.problem()).isNull();
        assertThat(r.readLong(r.next())).isZero();
        assertThat(r.problem()).contains("VALUE_NUMBER_FLOAT");
        assertThat(r.readLong(r.next())).isEqualTo(Long.MIN_VALUE);
    }

    @Test
    void structFromArrayInDeclarationOrderAndFromMapSkippingUnknownKeys() throws IOException {
        String[] order = {"A", "B"};
        List<String> seen = new ArrayList<>();
        WireReader r = reader("83 61 78 f5 a1 61 7a 00   bf 61 42 f4 63 787878 82 01 a0 ff", 1 << 20);
        r.readStruct(r.next(), order, (name, t) -> {
            seen.add(name);
            r.skip(t);
        });
        r.readStruct(r.next(), order, (name, t) -> {
            if (name.equals("B")) {
                seen.add("B=" + r.readBool(t));
            } else {
                r.skip(t);
            }
        });
        assertThat(seen).containsExactly("A", "B", "B=false");
        assertThat(r.problem()).isNull();
        assertThat(r.next()).isNull(); // consumed exactly
    }

    @Test
    void typeMismatchIsSkippedWholeAndRemembered() throws IOException {
        WireReader r = reader("82 a1 61 61 82 01 02 07", 1 << 20);
        r.next();
        assertThat(r.readString(r.next())).isEmpty();
        assertThat(r.problem()).contains("START_OBJECT");
        assertThat(r.readLong(r.next())).isEqualTo(7); // still in sync
    }

    @Test
    void declaredLengthBeyondTheBudgetThrowsBeforeReading() {
        WireReader r = reader("81 5a 7fffffff", 1000);
        assertThatThrownBy(() -> {
            r.next();
            r.readBytes(r.next());
        }).isInstanceOf(RequestTooLargeException.class).hasMessageContaining("2147483647");
    }

    @Test
    void bytesListNeverPresizesFromTheDeclaredCount() {
        WireReader r = reader("9b 0fffffffffffffff 40", 1 << 20); // claims 2^60 elements, has one
        assertThatThrownBy(() -> r.readBytesList(r.next())).isInstanceOf(IOException.class);
    }

    @Test
    void integerOverflowAndSignProblemsAreReported() throws IOException {
        WireReader r = reader("84 c2 49 010000000000000000 c2 49 010000000000000000 20 1b 8000000000000000", 1 << 20);
        r.next();
        assertThat(r.readUnsignedLong(r.next())).isZero(); // 2^64 does not fit 64 bits
        assertThat(r.problem()).contains("unsigned integer overflow");
        r.resetProblem();
        assertThat(r.readLong(r.next())).isZero();
        assertThat(r.problem()).contains("integer overflow");
        r.resetProblem();
        assertThat(r.readUnsignedLong(r.next())).isZero(); // -1 for an unsigned field
        assertThat(r.problem()).contains("negative");
        r.resetProblem();
        assertThat(r.readLong(r.next())).isZero(); // 2^63 does not fit a signed field
        assertThat(r.problem()).contains("overflow");
    }

    @Test
    void boolsAreF4F5OnlyAndNullIsFalse() throws IOException {
        WireReader r = reader("84 f5 f4 f6 01", 1 << 20);
        r.next();
        assertThat(r.readBool(r.next())).isTrue();
        assertThat(r.readBool(r.next())).isFalse();
        assertThat(r.readBool(r.next())).isFalse();
        assertThat(r.problem()).isNull();
        assertThat(r.readBool(r.next())).isFalse();
        assertThat(r.problem()).contains("bool");
    }

    @Test
    void nonStructsAndNonListsAreSkippedAsProblems() throws IOException {
        WireReader r = reader("84 07 f6 61 61 82 40 f6", 1 << 20);
        r.next();
        assertThat(r.readStruct(r.next(), new String[0], (n, t) -> r.skip(t))).isFalse();
        assertThat(r.problem()).contains("struct");
        r.resetProblem();
        assertThat(r.readBytesList(r.next())).isNull();
        assertThat(r.problem()).isNull();
        assertThat(r.readBytesList(r.next())).isNull();
        assertThat(r.problem()).contains("array of bytes");
        r.resetProblem();
        List<byte[]> l = r.readBytesList(r.next());
        assertThat(l).hasSize(2);
        assertThat(l.get(0)).isEmpty();
        assertThat(l.get(1)).isEmpty(); // a null element is an empty message
        assertThat(r.readBytes(JsonToken.VALUE_NULL)).isNull();
    }

    @Test
    void decodedStringsAreCappedExactlyAtTheLimit() throws IOException {
        WireReader r = reader("83 43 616263 62 6465 41 66", 1 << 20);
        r.decodedLimit(5);
        r.next();
        assertThat(r.readBytes(r.next())).hasSize(3);
        assertThat(r.readString(r.next())).isEqualTo("de"); // exactly 5: allowed
        assertThatThrownBy(() -> r.readBytes(r.next())).isInstanceOf(RequestTooLargeException.class);
    }

    @Test
    void declaredLengthExactlyAtTheBudgetIsAllowed() throws IOException {
        // a short length sits in the initial byte, already consumed: the content starts at position()
        WireReader r = reader("81 43 616263", 1 << 20);
        r.next();
        JsonToken t = r.next();
        r.budgetEnd(r.position() + 3);
        assertThat(r.readBytes(t)).hasSize(3);
        WireReader r2 = reader("81 43 616263", 1 << 20);
        r2.next();
        JsonToken t2 = r2.next();
        r2.budgetEnd(r2.position() + 2);
        assertThatThrownBy(() -> r2.readBytes(t2)).isInstanceOf(RequestTooLargeException.class);
    }
}
