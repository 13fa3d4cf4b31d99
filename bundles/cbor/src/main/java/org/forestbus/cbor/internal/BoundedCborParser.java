package org.forestbus.cbor.internal;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.IOContext;
import com.fasterxml.jackson.core.sym.ByteQuadsCanonicalizer;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.fasterxml.jackson.dataformat.cbor.CBORParser;
import java.io.IOException;
import java.io.InputStream;

/**
 * Jackson's {@link CBORParser} plus two read-only peeks the request reader needs to enforce
 * limits before anything is allocated: the exact stream position and the declared length of
 * the current (not yet decoded) byte or text string.
 *
 * <p>Relies on Jackson 2.x internals ({@code _typeByte}, {@code _tokenIncomplete},
 * {@code _loadToHaveAtLeast}): for a major-type-2/3 item, {@code nextToken()} consumes only
 * the initial byte and leaves the length argument unread in the input buffer.
 */
final class BoundedCborParser extends CBORParser {

    /** Input buffer per connection (not taken from Jackson's recycler pool). */
    static final int READ_BUFFER_BYTES = 8000;

    private BoundedCborParser(IOContext ctxt, int parserFeatures, int cborFeatures,
                              ByteQuadsCanonicalizer sym, InputStream in, byte[] buf) {
        super(ctxt, parserFeatures, cborFeatures, null, sym, in, buf, 0, 0, false);
    }

    /** Bytes consumed from the stream so far (the start of the next unread item). */
    long position() {
        return _currInputProcessed + _inputPtr;
    }

    /**
     * The declared length of the current byte/text string whose content has not been read yet;
     * -1 when not applicable (other tokens, content already read, indefinite-length strings whose
     * chunks are bounded by the stream limit instead). Values of 2^63 and above report
     * {@link Long#MAX_VALUE}.
     */
    long declaredLength() throws IOException {
        JsonToken t = currentToken();
        if (!_tokenIncomplete || (t != JsonToken.VALUE_STRING && t != JsonToken.VALUE_EMBEDDED_OBJECT)) {
            return -1;
        }
        int low = _typeByte & 0x1F;
        if (low < 24) {
            return low;
        }
        if (low > 27) {
            return -1; // indefinite (31) or reserved (28-30, Jackson rejects them)
        }
        int n = 1 << (low - 24);
        if (_inputEnd - _inputPtr < n) {
            _loadToHaveAtLeast(n);
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            v = (v << 8) | (_inputBuffer[_inputPtr + i] & 0xFF);
        }
        return v < 0 ? Long.MAX_VALUE : v;
    }

    /** A CBOR factory with explicit read limits that hands out {@link BoundedCborParser}s. */
    static final class Factory extends CBORFactory {
        private static final long serialVersionUID = 1L;

        Factory(int maxNestingDepth, int maxStringLength) {
            super(CBORFactory.builder().streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(maxNestingDepth)
                    .maxStringLength(maxStringLength)
                    .maxNameLength(4096)
                    .maxNumberLength(100)
                    .build())
                    // the socket must outlive the parser's EOF: replies may still be pending
                    .disable(com.fasterxml.jackson.core.StreamReadFeature.AUTO_CLOSE_SOURCE));
        }

        /** A parser over {@code in}; does not read anything yet. */
        BoundedCborParser boundedParser(InputStream in) {
            IOContext ctxt = _createContext(_createContentReference(in), false);
            return new BoundedCborParser(ctxt, _parserFeatures, _formatParserFeatures,
                    _byteSymbolCanonicalizer.makeChildOrPlaceholder(_factoryFeatures), in,
                    new byte[READ_BUFFER_BYTES]);
        }
    }
}
