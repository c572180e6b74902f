package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UpstreamDecoderTests {

    private final UpstreamDecoder decoder = new UpstreamDecoder();
    private final EmbeddedChannel channel = new EmbeddedChannel(decoder);

    {
        decoder.expect(false, false, false);
    }

    @Test
    void fixedLengthResponseIsHeadThenBodyThenEnd() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");

        assertThat(parts).containsExactly(
                "HEAD 200 FIXED 5 reusable: HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n",
                "hello", "END");
    }

    @Test
    void headAndBodySplitAcrossReadsAreReassembled() {
        List<String> parts = read("\r\nHTTP/1.1 200 OK\r\nContent-Le", "ngth: 11\r\n\r", "\nhello", " world");

        assertThat(parts).containsExactly("HEAD 200 FIXED 11 reusable: HTTP/1.1 200 OK\r\nContent-Length: 11\r\n",
                "hello", " world", "END");
        assertThat(next("HTTP/1.1 204 No Content\r\n\r\n")).containsExactly("HEAD 204 NONE reusable: HTTP/1.1 204 No Content\r\n", "END");
    }

    @Test
    void bytesAfterTheEndOfAResponseEndItWithoutReuseAndAreDropped() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
                "more");

        assertThat(parts).containsExactly("HEAD 200 FIXED 2 reusable: HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "ok",
                "END_THEN_CLOSE");
    }

    @Test
    void hopByHopLinesAreCutIncludingTheOnesNamedInConnection() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n"
                + "x-secret: 1\r\nUpgrade: h2c\r\nTrailer: Expires\r\nProxy-Authenticate: Basic\r\nX-Kept: yes\r\n"
                + "Content-Length: 0\r\n\r\n");

        // Trailer is end-to-end (RFC 9110 §6.6.2): it was dropped while the trailer fields it announces passed.
        assertThat(parts).containsExactly("HEAD 200 FIXED 0 reusable keep-alive 5s: HTTP/1.1 200 OK\r\nTrailer: Expires\r\n"
                + "X-Kept: yes\r\nContent-Length: 0\r\n", "END");
    }

    /** Only the proxy's own errors carry X-Shepherd-Error: a worker's would pass for one (found by a helper). */
    @Test
    void aWorkersXShepherdErrorIsLeftOut() {
        assertThat(read("HTTP/1.1 502 Bad Gateway\r\nX-Shepherd-Error: 502\r\nx-shepherd-error: 504\r\n"
                + "X-Shepherd-Errors: kept\r\nContent-Length: 0\r\n\r\n")).containsExactly("HEAD 502 FIXED 0 reusable: "
                + "HTTP/1.1 502 Bad Gateway\r\nX-Shepherd-Errors: kept\r\nContent-Length: 0\r\n", "END");
    }

    @Test
    void keepAliveTimeoutIsReadAsAHintAndAnythingElseInTheHeaderIsIgnored() {
        assertThat(read("HTTP/1.1 200 OK\r\nKeep-Alive: max=100, Timeout = 7\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0 reusable keep-alive 7s: HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "END");
        assertThat(next("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=soon\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0 reusable: HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "END");
        assertThat(next("HTTP/1.1 200 OK\r\nKeep-Alive: xtimeout=3, timeout=, timeout=1s\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0 reusable: HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "END");
        assertThat(next("HTTP/1.1 200 OK\r\nKeep-Alive:\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0 reusable: HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "END");
        assertThat(next("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=99999999999999999999\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0 reusable keep-alive " + Integer.MAX_VALUE + "s: HTTP/1.1 200 OK\r\n"
                        + "Content-Length: 0\r\n", "END");
    }

    @Test
    void chunkedBodyPassesThroughWithItsFramingAndTrailers() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n",
                "6\r\n worl", "d\r\n0\r\nX-Checksum: 9\r\n\r\n");

        assertThat(parts).containsExactly("HEAD 200 CHUNKED reusable chunked: HTTP/1.1 200 OK\r\n",
                "5;ext=1\r\nhello\r\n", "6\r\n worl", "d\r\n0\r\nX-Checksum: 9\r\n\r\n", "END");
    }

    /** RFC 9110 §6.5.1: framing, routing, cookies and the like are no trailer fields; the rest pass on as they came. */
    @Test
    void trailerFieldsThatMayNotBeTrailersAreLeftOutAndTheRestPass() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
                + "Transfer-Encoding: chunked\r\nX-Checksum: 9\r\nSet-Cookie: sess=evil\r\ncontent-length: 99\r\n"
                + "grpc-status: 0\r\nHOST: evil.example\r\n\r\n");

        assertThat(String.join("", parts)).isEqualTo("HEAD 200 CHUNKED reusable chunked: HTTP/1.1 200 OK\r\n"
                + "2\r\nok\r\n0\r\nX-Checksum: 9\r\ngrpc-status: 0\r\n\r\nEND");
    }

    @Test
    void aTrailerFieldLeftOutAcrossReadsIsLeftOutWhole() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\nSet-Coo",
                "kie: a=b\r", "\nX-B: 2\r\n\r\n");

        assertThat(String.join("", parts)).isEqualTo("HEAD 200 CHUNKED reusable chunked: HTTP/1.1 200 OK\r\n"
                + "0\r\nX-A: 1\r\nX-B: 2\r\n\r\nEND");
    }

    @Test
    void chunkedBodyForAnHttp10ClientLosesItsFramingAndTrailers() {
        decoder.expect(false, true, false);
        List<String> parts = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n worl",
                "d\r\n0\r\nX-Checksum: 9\r\n\r\n");

        assertThat(parts).containsExactly("HEAD 200 CHUNKED reusable chunked: HTTP/1.1 200 OK\r\n", "hello",
                " worl", "d", "END");
    }

    @Test
    void chunkFramingSplitBetweenCrAndLfWaitsForTheLf() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r", "\nok\r", "\n0\r\nX-A: 1\r",
                "\n\r", "\n");

        assertThat(parts).containsExactly("HEAD 200 CHUNKED reusable chunked: HTTP/1.1 200 OK\r\n", "2\r\nok",
                "\r\n0\r\n", "X-A: 1\r\n", "\r\n", "END");
    }

    @Test
    void lengthNamedInConnectionStillFramesTheBody() {
        assertThat(read("HTTP/1.1 200 OK\r\nConnection: Content-Length, X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\nok"))
                .containsExactly("HEAD 200 FIXED 2 reusable: HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "ok", "END");
    }

    @Test
    void chunkSizeLineSplitAcrossReadsWaitsForItsEnd() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1", "0\r\n0123456789abcdef\r\n0\r\n\r\n");

        assertThat(parts).containsExactly("HEAD 200 CHUNKED reusable chunked: HTTP/1.1 200 OK\r\n",
                "10\r\n0123456789abcdef\r\n0\r\n\r\n", "END");
    }

    @Test
    void bodyWithoutFramingLastsUntilTheWorkerClosesItsSide() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstreamed ", "until close");
        channel.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        parts.addAll(readRest());
        channel.finish();

        assertThat(parts).containsExactly("HEAD 200 UNTIL_CLOSE: HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
                "streamed ", "until close", "END");
        assertThat(readRest()).isEmpty();
    }

    @Test
    void bodyWithoutFramingEndedByAResetIsNotEnded() {
        UpstreamDecoder resetDecoder = new UpstreamDecoder();
        resetDecoder.expect(false, false, false);
        EmbeddedChannel reset = new EmbeddedChannel(resetDecoder, new SwallowErrors());
        reset.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\n\r\npart", StandardCharsets.ISO_8859_1));
        // What every transport does on ECONNRESET with half-closure allowed: the exception, then the input shut.
        reset.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        reset.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        reset.finish();

        assertThat(readAll(reset)).containsExactly("HEAD 200 UNTIL_CLOSE: HTTP/1.1 200 OK\r\n", "part");
    }

    @Test
    void bodyWithoutFramingWhoseConnectionClosesWithoutAFinIsNotEnded() {
        // A failed write closes the connection without the input being shut: nothing says the body was whole.
        List<String> parts = read("HTTP/1.1 200 OK\r\n\r\npart");
        channel.finish();
        parts.addAll(readRest());

        assertThat(parts).containsExactly("HEAD 200 UNTIL_CLOSE: HTTP/1.1 200 OK\r\n", "part");
    }

    @Test
    void fixedLengthOrChunkedBodyCutByAFinIsNotEnded() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        channel.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        parts.addAll(readRest());
        assertThat(parts).containsExactly("HEAD 200 FIXED 10 reusable: HTTP/1.1 200 OK\r\nContent-Length: 10\r\n", "abc");

        UpstreamDecoder chunkedDecoder = new UpstreamDecoder();
        chunkedDecoder.expect(false, false, false);
        EmbeddedChannel chunked = new EmbeddedChannel(chunkedDecoder);
        chunked.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                StandardCharsets.ISO_8859_1));
        chunked.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        chunked.finish();
        assertThat(readAll(chunked)).containsExactly("HEAD 200 CHUNKED reusable chunked: HTTP/1.1 200 OK\r\n",
                "3\r\nabc\r\n");
    }

    @Test
    void responsesToHeadAnd204And304HaveNoBodyWhateverTheirHeadsSay() {
        decoder.expect(true, false, false);
        assertThat(read("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"))
                .containsExactly("HEAD 200 NONE reusable: HTTP/1.1 200 OK\r\nContent-Length: 99\r\n", "END");
        assertThat(next("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"))
                .containsExactly("HEAD 204 NONE chunked: HTTP/1.1 204 No Content\r\n", "END");
        assertThat(next("HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n"))
                .containsExactly("HEAD 304 NONE reusable: HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n", "END");
    }

    /**
     * RFC 9112 §6.3 and RFC 9110 §8.6: one length given twice, on two lines or in one list, is taken once; the client
     * gets the one line the proxy read, not the worker's repetition, whose copies it might read differently.
     */
    @Test
    void aLengthGivenTwiceReachesTheClientOnceAsRead() {
        assertThat(read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"))
                .containsExactly("HEAD 200 FIXED 5 reusable: HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n",
                        "hello", "END");
        assertThat(next("HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\nhello"))
                .containsExactly("HEAD 200 FIXED 5 reusable: HTTP/1.1 200 OK\r\ncontent-length: 5\r\n", "hello", "END");
        assertThat(next("HTTP/1.1 200 OK\r\nContent-Length:005 \r\nContent-Length: 5,,5\r\n\r\nhello"))
                .containsExactly("HEAD 200 FIXED 5 reusable: HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "hello", "END");
        decoder.expect(true, false, false);
        assertThat(read("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\n"))
                .containsExactly("HEAD 200 NONE reusable: HTTP/1.1 200 OK\r\nContent-Length: 12\r\n", "END");
    }

    @Test
    void informationalResponsesComeBeforeTheFinalOne() {
        List<String> parts = read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        assertThat(parts).containsExactly("HEAD 100 NONE reusable: HTTP/1.1 100 Continue\r\n",
                "HEAD 200 FIXED 2 reusable: HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "ok", "END");
    }

    /** RFC 9110 §15: a status code is 100 to 599; both ends pass, the interim one as interim. */
    @Test
    void statusCodesAtTheEndsOfTheirRangePass() {
        assertThat(read("HTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 199 NONE reusable: HTTP/1.1 199 Odd\r\n",
                        "HEAD 599 FIXED 0 reusable: HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n", "END");
    }

    @Test
    void connectionIsReusableOnlyWhenTheWorkerSaysSo() {
        assertThat(read("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0: HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "END");
        assertThat(next("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0: HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "END");
        assertThat(next("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"))
                .containsExactly("HEAD 200 FIXED 0 reusable: HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", "END");
    }

    @Test
    void anHttp10ResponseGoesOnWithTheProxysOwnVersionAndWithoutTrustingATransferEncoding() {
        assertThat(read("HTTP/1.0 404 Not Found\r\nContent-Length: 1\r\n\r\nx"))
                .containsExactly("HEAD 404 FIXED 1: HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n", "x", "END");
        assertMalformed("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.0");
    }

    @Test
    void lengthAndChunkedTogetherAreReadAsChunkedWithoutTheLengthAndTheConnectionIsNotReused() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "2\r\nok\r\n0\r\n\r\n");

        assertThat(parts).containsExactly("HEAD 200 CHUNKED chunked: HTTP/1.1 200 OK\r\n", "2\r\nok\r\n0\r\n\r\n", "END");
    }

    @Test
    void bareLineFeedsAreReadAndForwardedAsCrlf() {
        List<String> parts = read("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");

        assertThat(parts).containsExactly("HEAD 200 FIXED 2 reusable: HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "ok", "END");
    }

    @Test
    void whiteSpaceBeforeAChunkExtensionIsRead() {
        List<String> parts = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ;a=1\r\nok\r\n0\t;b\r\n\r\n");

        assertThat(parts).endsWith("END");
        assertThat(String.join("", parts)).contains("2 ;a=1\r\nok\r\n0\t;b\r\n");
    }

    @Test
    void headersNamedInConnectionAreDroppedWhateverTheirCaseAmongThousandsOfLines() {
        StringBuilder head = new StringBuilder("HTTP/1.1 200 OK\r\nConnection: X-A, x-b\r\nContent-Length: 2\r\n");
        for (int i = 0; i < 3_000; i++) {
            head.append(i % 2 == 0 ? "x-a: 1\r\n" : "X-C: 1\r\n");
        }
        head.append("X-B: 2\r\n\r\nok");

        String relayed = read(head.toString()).get(0);

        assertThat(relayed).doesNotContainIgnoringCase("x-a:").doesNotContainIgnoringCase("x-b:");
        assertThat(relayed.split("X-C: 1", -1)).hasSize(1_501);
    }

    @Test
    void malformedResponsesFailTheAttempt() {
        assertMalformed("HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\nContent-Length: 0\r\n\r\n", "obsolete line folding");
        assertMalformed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", "conflicting Content-Length");
        assertMalformed("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length '-1'");
        assertMalformed("HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n", "Content-Length '1a'");
        assertMalformed("HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n", "Content-Length '1234567890123456789'");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "other than chunked");
        assertMalformed("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "header line 'Bad Name: x'");
        assertMalformed("HTTP/1.1 200 OK\r\nX-Nul: a\u0000b\r\n\r\n", "control character");
        assertMalformed("HTTP/2 200 OK\r\n\r\n", "status line");
        assertMalformed("HTTP/1.1 20 OK\r\n\r\n", "status line");
        assertMalformed("HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", "status code 999, not 100 to 599");
        assertMalformed("HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n", "status code 600, not 100 to 599");
        assertMalformed("HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n", "status code 000, not 100 to 599");
        assertMalformed("HTTP/1.1 099 X\r\n\r\n", "status code 099, not 100 to 599");
        assertMalformed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "offered no upgrade");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size line 'zz'");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 0\r\n", "chunk size line '5 0'");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0 x\r\n", "chunk size line '0 x'");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n", "not followed by CRLF");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n", "bare LF in the chunk framing");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\n0\r\n\r\n", "not followed by CRLF");
        assertMalformed("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "Content-Length without a value");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n", "Transfer-Encoding without a value");
        assertMalformed("HTTP/1.1 200 OK\r\nX-Big: " + "b".repeat(UpstreamDecoder.MAX_HEAD_BYTES) + "\r\n", "longer than");
        assertMalformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                + ("X-T: " + "t".repeat(1000) + "\r\n").repeat(40), "its trailer section is longer than 32768 bytes");
        assertMalformed("HTTP/1.1 103 Early Hints\r\n\r\n".repeat(UpstreamDecoder.MAX_INTERIM_RESPONSES + 1),
                "more than 8 interim (1xx) responses");
    }

    /** Trailer sections of one response are bounded, not the trailers of all the responses of a connection. */
    @Test
    void eachResponseHasItsOwnTrailerAndInterimBounds() {
        String trailers = ("X-T: " + "t".repeat(1000) + "\r\n").repeat(20);
        assertThat(read("HTTP/1.1 103 Early Hints\r\n\r\n".repeat(8) + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                + "\r\n\r\n0\r\n" + trailers + "\r\n")).endsWith("END");
        assertThat(next("HTTP/1.1 103 Early Hints\r\n\r\n".repeat(8) + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                + "\r\n\r\n0\r\n" + trailers + "\r\n")).endsWith("END");
    }

    @Test
    void bytesWhileNoRequestIsOutstandingFailTheConnection() {
        assertThat(read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")).endsWith("END");

        assertThatThrownBy(() -> channel.writeInbound(Unpooled.copiedBuffer("x", StandardCharsets.ISO_8859_1)))
                .isInstanceOf(DecoderException.class).hasMessageContaining("while no request was outstanding");
        EmbeddedChannel fresh = new EmbeddedChannel(new UpstreamDecoder());
        assertThatThrownBy(() -> fresh.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\n", StandardCharsets.ISO_8859_1)))
                .isInstanceOf(DecoderException.class).hasMessageContaining("while no request was outstanding");
    }

    /**
     * Bytes that could be taken for the answer to a later request mark the worker out of step (a late response, one to
     * a body it took for a request); line ends, which a parser skips, and a 408 before an idle close do not.
     */
    @Test
    void bytesNobodyAskedForAreToldApartFromLineEndsAndATimeoutsClose() {
        assertThat(unaskedAfter("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")).isTrue();
        assertThat(unaskedAfter("x")).isTrue();
        assertThat(unaskedAfter("\r\nHTTP/1.1 40")).isTrue();
        assertThat(unaskedAfter("HTTP/1.1 4080 x\r\n\r\n")).isTrue();
        assertThat(unaskedAfter("\r\n\r\n")).isFalse();
        assertThat(unaskedAfter("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n")).isFalse();
        assertThat(unaskedAfter("\r\nHTTP/1.0 408\r\n\r\n")).isFalse();

        assertThat(unasked(responded("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n", "END_THEN_CLOSE")))
                .as("a line end after the body").isFalse();
        assertThat(unasked(responded("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
                "END_THEN_CLOSE"))).as("a second response in the same read").isTrue();
    }

    /** Whether {@code late}, sent on a connection whose response has ended, counts as bytes nobody asked for. */
    private static boolean unaskedAfter(String late) {
        EmbeddedChannel channel = responded("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "END");
        assertThat(unasked(channel)).isFalse();
        assertThatThrownBy(() -> channel.writeInbound(Unpooled.copiedBuffer(late, StandardCharsets.ISO_8859_1)))
                .isInstanceOf(DecoderException.class);
        return unasked(channel);
    }

    /** A fresh decoder's channel after one request and {@code read}, whose last part must be {@code last}. */
    private static EmbeddedChannel responded(String read, String last) {
        UpstreamDecoder decoder = new UpstreamDecoder();
        decoder.expect(false, false, false);
        EmbeddedChannel channel = new EmbeddedChannel(decoder);
        channel.writeInbound(Unpooled.copiedBuffer(read, StandardCharsets.ISO_8859_1));
        assertThat(readAll(channel)).endsWith(last);
        return channel;
    }

    private static boolean unasked(EmbeddedChannel channel) {
        return channel.pipeline().get(UpstreamDecoder.class).sentUnasked();
    }

    /** Found by an attacking helper: an HTTP/0.9-style reply waited out the response timeout (504 after 60 s). */
    @Test
    void aReplyThatCannotBeginAStatusLineIsMalformedAtOnceWithoutItsEnd() {
        assertMalformed("hello, no status line", "status line (the response does not start with HTTP/1.)");
        assertMalformed("HTTP/2", "status line");

        UpstreamDecoder fresh = new UpstreamDecoder();
        fresh.expect(false, false, false);
        EmbeddedChannel channel = new EmbeddedChannel(fresh);
        channel.writeInbound(Unpooled.copiedBuffer("HTTP/1", StandardCharsets.ISO_8859_1));
        assertThat((Object) channel.readInbound()).as("a status line that may yet come: waited for").isNull();
        channel.finishAndReleaseAll();
    }

    /** Found by an attacking helper: the 502 a client got quoted a bad Content-Length's or Transfer-Encoding's value. */
    @Test
    void aBadLengthOrCodingReachesTheClientWithoutTheWorkersValue() {
        for (String head : List.of("HTTP/1.1 200 OK\r\nContent-Length: sk_live_SECRET\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, <script>sk_live_SECRET</script>\r\n\r\n")) {
            UpstreamDecoder fresh = new UpstreamDecoder();
            fresh.expect(false, false, false);
            EmbeddedChannel channel = new EmbeddedChannel(fresh);
            Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() ->
                    channel.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1)));
            channel.finishAndReleaseAll();

            assertThat(failure).as(head).hasMessageContaining("sk_live_SECRET");
            assertThat(RetryPolicy.describe(failure.getCause() != null ? failure.getCause() : failure))
                    .startsWith("the worker's response is malformed: ").doesNotContain("SECRET", "<script>");
        }
    }

    private void assertMalformed(String response, String message) {
        UpstreamDecoder fresh = new UpstreamDecoder();
        fresh.expect(false, false, false);
        EmbeddedChannel channel = new EmbeddedChannel(fresh);
        assertThatThrownBy(() -> channel.writeInbound(Unpooled.copiedBuffer(response, StandardCharsets.ISO_8859_1)))
                .as(response).isInstanceOf(DecoderException.class).hasMessageContaining(message);
        channel.finishAndReleaseAll();
    }

    /** The next response on the connection: a request is outstanding again. */
    private List<String> next(String... reads) {
        decoder.expect(false, false, false);
        return read(reads);
    }

    /** Feeds the reads in order, then returns what the decoder made of them. */
    private List<String> read(String... reads) {
        for (String part : reads) {
            channel.writeInbound(Unpooled.copiedBuffer(part, StandardCharsets.ISO_8859_1));
        }
        return readRest();
    }

    private List<String> readRest() {
        return readAll(channel);
    }

    private static List<String> readAll(EmbeddedChannel channel) {
        List<String> parts = new ArrayList<>();
        Object message;
        while ((message = channel.readInbound()) != null) {
            parts.add(describe(message));
        }
        return parts;
    }

    /** Stands for UpstreamHandler, which takes the exceptions the decoder passes on. */
    private static final class SwallowErrors extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Seen: the test asserts what the decoder passed on before it.
        }
    }

    private static String describe(Object message) {
        if (message == UpstreamDecoder.END) {
            return "END";
        }
        if (message == UpstreamDecoder.END_THEN_CLOSE) {
            return "END_THEN_CLOSE";
        }
        if (message instanceof ResponseHead head) {
            String text = "HEAD " + head.status() + " " + head.body()
                    + (head.contentLength() >= 0 ? " " + head.contentLength() : "")
                    + (head.reusable() ? " reusable" : "") + (head.chunked() ? " chunked" : "")
                    + (head.keepAliveSeconds() >= 0 ? " keep-alive " + head.keepAliveSeconds() + "s" : "") + ": "
                    + head.lines().toString(StandardCharsets.ISO_8859_1);
            head.release();
            return text;
        }
        ByteBuf part = (ByteBuf) message;
        String text = part.toString(StandardCharsets.ISO_8859_1);
        part.release();
        return text;
    }
}
