package dev.shepherd.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RequestDecoderTests {

    private final EmbeddedChannel channel = decoder(new UnfinishedHeads(UnfinishedHeads.LIMIT));

    private static EmbeddedChannel decoder(UnfinishedHeads heads) {
        return new EmbeddedChannel(new RequestDecoder(new HttpDecoderConfig().setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true).setAllowDuplicateContentLengths(false), heads, () -> false));
    }

    /**
     * 1-byte chunks arriving in one read are handed on as one part, then the pipelined request after the body: each
     * part used to cost its own trip through the pipeline, the exchange and the body's buffer, so that eight clients
     * sending such bodies kept the event loops from everyone else (an attacking helper).
     */
    @Test
    void smallChunksOfOneReadAreHandedOnAsOnePart() {
        String body = "0123456789".repeat(300);
        StringBuilder chunks = new StringBuilder();
        for (char c : body.toCharArray()) {
            chunks.append("1\r\n").append(c).append("\r\n");
        }
        String large = "x".repeat(4_000);
        channel.writeInbound(Unpooled.copiedBuffer("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunks + "fa0\r\n" + large + "\r\n" + chunks + "0\r\nX-T: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
                StandardCharsets.ISO_8859_1));

        List<String> parts = new ArrayList<>();
        StringBuilder received = new StringBuilder();
        for (Object message; (message = channel.readInbound()) != null; ) {
            if (message instanceof HttpRequest request) {
                parts.add("request " + request.uri());
            } else if (message instanceof LastHttpContent last) {
                parts.add("last " + last.trailingHeaders().get("X-T"));
            } else if (message instanceof HttpContent content) {
                parts.add("part " + content.content().readableBytes());
                received.append(content.content().toString(StandardCharsets.ISO_8859_1));
            }
            ReferenceCountUtil.release(message);
        }

        assertThat(parts).as("the large chunk between is handed on as it came, not copied")
                .containsExactly("request /", "part 3000", "part 4000", "part 3000", "last 1", "request /next", "last null");
        assertThat(received.toString()).isEqualTo(body + large + body);
    }

    @Test
    void foldedHeaderIsRefusedWith400() {
        List<String> decoded = feed("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n");

        assertThat(decoded).containsExactly("FAILED 400 obsolete line folding in a header is not accepted (RFC 9112 §5.2)");
    }

    @Test
    void foldWithATabIsRefusedToo() {
        assertThat(feed("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n")).singleElement().asString().startsWith("FAILED 400");
    }

    @Test
    void foldAtTheStartOfALaterPacketIsRefused() {
        assertThat(feed("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n")).isEmpty();

        assertThat(feed(" two\r\n\r\n")).singleElement().asString().startsWith("FAILED 400");
    }

    /** A head refused after its line was read hands the line on, for the access log: nginx logs it too. */
    @Test
    void aRefusedHeadNamesTheRequestLineThatWasRead() {
        assertThat(refusedLine("\r\nPOST /same-packet?q=1 HTTP/1.0\r\nX: 1\r\n 2\r\n\r\n"))
                .isEqualTo("POST /same-packet?q=1 HTTP/1.0");
        assertThat(refusedLine("GET /earlier HTTP/1.1\r\nHost: a\r\n", "X: 1\r\n\t2\r\n\r\n"))
                .as("the line parsed by Netty in an earlier packet").isEqualTo("GET /earlier HTTP/1.1");
        assertThat(refusedLine(" GET /indented HTTP/1.1\r\n\r\n")).as("no line was read").isNull();
        assertThat(refusedLine("GET /x HTTP/1.1 more\r\nX: 1\r\n 2\r\n\r\n")).as("no request line").isNull();
        assertThat(refusedLine("GET /x HTTP/1.1\r\nX: 1\r\n")).as("nothing refused yet").isEqualTo("none");
    }

    /** The line of the failed request the packets end in, null for a placeholder, "none" when nothing failed. */
    private static String refusedLine(String... packets) {
        EmbeddedChannel decoder = decoder(new UnfinishedHeads(UnfinishedHeads.LIMIT));
        String line = "none";
        for (String packet : packets) {
            decoder.writeInbound(Unpooled.copiedBuffer(packet, StandardCharsets.ISO_8859_1));
            Object message;
            while ((message = decoder.readInbound()) != null) {
                if (((HttpObject) message).decoderResult().isFailure()) {
                    line = message instanceof HttpRequest request && !(message instanceof FullHttpRequest)
                            ? request.method() + " " + request.uri() + " " + request.protocolVersion() : null;
                }
                ReferenceCountUtil.release(message);
            }
        }
        decoder.finishAndReleaseAll();
        return line;
    }

    @Test
    void nothingAfterAFoldedHeadIsDecoded() {
        List<String> decoded = feed("GET /a HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
        decoded.addAll(feed("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"));

        assertThat(decoded).singleElement().asString().startsWith("FAILED 400");
    }

    @Test
    void indentedBodyOfAPipelinedPostArrivingInALaterPacketIsNotAFold() {
        String json = "{\r\n  \"a\": 1,\r\n\t\"b\": 2\r\n}";
        List<String> decoded = feed("GET /first HTTP/1.1\r\nHost: a\r\n\r\nPOST /second HTTP/1.1\r\nHost: a\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + json.length() + "\r\n\r\n");
        decoded.addAll(feed(json));

        assertThat(decoded).containsExactly("REQUEST GET /first", "LAST ", "REQUEST POST /second", "LAST " + json);
    }

    @Test
    void indentedChunkedBodyInLaterPacketsIsNotAFold() {
        List<String> decoded = feed("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        decoded.addAll(feed("6\r\n"));
        decoded.addAll(feed("  {\n }\r\n"));
        decoded.addAll(feed("0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"));

        assertThat(decoded).containsExactly("REQUEST POST /c", "CONTENT   {\n }", "LAST ", "REQUEST GET /next", "LAST ");
    }

    @Test
    void foldInTheSecondRequestOfAPacketIsRefusedAfterTheFirstIsDecoded() {
        List<String> decoded = feed("GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET /bad HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n");

        assertThat(decoded).hasSize(3).startsWith("REQUEST GET /ok", "LAST ");
        assertThat(decoded.get(2)).startsWith("FAILED 400");
    }

    @Test
    void foldAfterABodySplitAcrossPacketsIsStillFound() {
        List<String> decoded = feed("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab");
        decoded.addAll(feed("cdGET /b HTTP/1.1\r\nHost: a\r\nX: 1\r\n"));
        decoded.addAll(feed("\t2\r\n\r\n"));

        assertThat(decoded).hasSize(4).startsWith("REQUEST POST /a", "CONTENT ab", "LAST cd");
        assertThat(decoded.get(3)).startsWith("FAILED 400");
    }

    @Test
    void aProtocolNameNotInUpperCaseIsRefused() {
        assertThat(feed("GET / http/1.1\r\nHost: a\r\n\r\n")).containsExactly(
                "FAILED 400 the protocol must be written HTTP, in upper case (RFC 9112 §2.3): http/1.1");
        assertThat(feed(decoder(new UnfinishedHeads(UnfinishedHeads.LIMIT)), "GET / Http/1.0\r\n\r\n"))
                .singleElement().asString().startsWith("FAILED 400 the protocol must be written HTTP");
        assertThat(feed(decoder(new UnfinishedHeads(UnfinishedHeads.LIMIT)), "GET / HTTP/1.0\r\n\r\n"))
                .containsExactly("REQUEST GET /", "LAST ");
    }

    @Test
    void emptyLinesBeforeTheRequestLineAreAccepted() {
        assertThat(feed("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")).containsExactly("REQUEST GET /", "LAST ");
        assertThat(feed("\nGET /lf HTTP/1.1\r\nHost: a\r\n\r\n")).containsExactly("REQUEST GET /lf", "LAST ");
    }

    @Test
    void whiteSpaceOrAControlCharacterBeforeTheRequestLineIsRefused() {
        for (String before : List.of("  ", "\t", "\r\n ", "\u0000", "\u000b", "\u0085")) {
            EmbeddedChannel indented = decoder(new UnfinishedHeads(UnfinishedHeads.LIMIT));
            assertThat(feed(indented, before + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
                    .as("%s", before.chars().boxed().toList()).containsExactly("FAILED 400 nothing but empty lines may "
                            + "come before the request line: no white space or control characters (RFC 9112 §2.2)");
        }
        List<String> afterABody = feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok\r\n");
        afterABody.addAll(feed(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assertThat(afterABody).hasSize(3).startsWith("REQUEST POST /", "LAST ok");
        assertThat(afterABody.get(2)).startsWith("FAILED 400 nothing but empty lines");
    }

    /** Netty takes any white space for a space in the request line; nginx and HAProxy refuse it (an attacking helper's). */
    @Test
    void whiteSpaceOtherThanSpaceInTheRequestLineIsRefused() {
        for (String line : List.of("GET\t/sep HTTP/1.1", "GET\u000b/sep HTTP/1.1", "GET\u000c/sep HTTP/1.1",
                "GET\r/sep HTTP/1.1", "GET /sep\tHTTP/1.1", "GET /sep HTTP/1.1\r\r")) {
            EmbeddedChannel decoder = decoder(new UnfinishedHeads(UnfinishedHeads.LIMIT));
            assertThat(feed(decoder, line + "\r\nHost: a\r\n\r\n")).as("%s", line.chars().boxed().toList())
                    .containsExactly("FAILED 400 the parts of the request line are separated by spaces only: no tab, "
                            + "vertical tab, form feed or CR without LF (RFC 9112 §3)");
        }
        // A CR whose LF comes in the next read is the line's end.
        EmbeddedChannel split = decoder(new UnfinishedHeads(UnfinishedHeads.LIMIT));
        List<String> decoded = feed(split, "GET /split HTTP/1.1\r");
        decoded.addAll(feed(split, "\nHost: a\r\n\r\n"));
        assertThat(decoded).containsExactly("REQUEST GET /split", "LAST ");
        assertThat(feed("GET  /two-spaces  HTTP/1.1\r\nHost: a\r\n\r\n")).as("more than one space, as nginx")
                .containsExactly("REQUEST GET /two-spaces", "LAST ");
    }

    @Test
    void headSplitByteByByteIsDecoded() {
        String request = "GET /x HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\n";
        List<String> decoded = new ArrayList<>();
        for (char c : request.toCharArray()) {
            decoded.addAll(feed(String.valueOf(c)));
        }

        assertThat(decoded).containsExactly("REQUEST GET /x", "LAST ");
    }

    /**
     * Unfinished heads share one limit across connections: a head that stays unfinished past it is refused with
     * 503, a head that arrives whole still passes, and a head's bytes are given back when it ends or its connection
     * closes.
     */
    @Test
    void unfinishedHeadsOfAllConnectionsShareOneLimit() {
        UnfinishedHeads heads = new UnfinishedHeads(64);
        EmbeddedChannel first = decoder(heads);
        EmbeddedChannel second = decoder(heads);
        EmbeddedChannel third = decoder(heads);
        String partial = "GET /slow HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n";

        assertThat(feed(first, partial)).isEmpty();
        assertThat(feed(first, "X-B: 2\r\n")).isEmpty();
        assertThat(heads.held()).isEqualTo(partial.length() + 8);
        assertThat(feed(second, partial)).singleElement().asString()
                .isEqualTo("FAILED 503 the proxy is reading too many unfinished request heads at once (0 MB); try again");
        assertThat(heads.held()).isEqualTo(partial.length() + 8);
        assertThat(feed(third, "GET /whole HTTP/1.1\r\nHost: a\r\nX-Padding: " + "p".repeat(80) + "\r\n\r\n"))
                .containsExactly("REQUEST GET /whole", "LAST ");

        assertThat(feed(first, "\r\n")).containsExactly("REQUEST GET /slow", "LAST ");
        assertThat(heads.held()).isZero();
        assertThat(feed(third, partial)).isEmpty();
        assertThat(heads.held()).isEqualTo(partial.length());
        third.close();
        assertThat(heads.held()).isZero();
    }

    /** A pipelined request waits undecoded, its connection not read, until the one before it is over. */
    @Test
    void aPipelinedRequestIsNotDecodedWhileTheOneBeforeItIsInProgress() throws Exception {
        List<Object> dispatched = new ArrayList<>();
        UnfinishedHeads heads = new UnfinishedHeads(UnfinishedHeads.LIMIT);
        RequestDecoder decoder = new RequestDecoder(new HttpDecoderConfig(), heads,
                () -> dispatched.stream().anyMatch(LastHttpContent.class::isInstance));
        EmbeddedChannel pipelining = new EmbeddedChannel(decoder, new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                dispatched.add(msg);
            }
        });

        pipelining.writeInbound(Unpooled.copiedBuffer("GET /a HTTP/1.1\r\nHost: a\r\n\r\n".repeat(50)
                + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n", StandardCharsets.ISO_8859_1));

        assertThat(dispatched).hasSize(2).first().isInstanceOf(HttpRequest.class);
        assertThat(decoder.paused()).isTrue();
        assertThat(pipelining.config().isAutoRead()).isFalse();
        int waiting = 50 * "GET /a HTTP/1.1\r\nHost: a\r\n\r\n".length();
        assertThat(heads.held()).as("the undecoded requests are counted").isEqualTo(waiting);
        dispatched.forEach(ReferenceCountUtil::release);
        dispatched.clear();
        decoder.resume(pipelining.pipeline().context(decoder));
        assertThat(dispatched).hasSize(2);
        assertThat(heads.held()).as("given back when decoding goes on, the next ones parked again")
                .isEqualTo(waiting - "GET /a HTTP/1.1\r\nHost: a\r\n\r\n".length());
        assertThat(((HttpRequest) dispatched.get(0)).uri()).isEqualTo("/a");
        dispatched.forEach(ReferenceCountUtil::release);
        pipelining.finishAndReleaseAll();
    }

    /**
     * What a paused decoder parks counts with the unfinished heads of all connections: a read that would take them
     * past the limit (the rest of a read under way when the connection paused) refuses the next request with 503,
     * handed on behind the request in progress, gives back what it held, and nothing after it is decoded.
     */
    @Test
    void pipelinedBytesPastTheLimitOfUnfinishedHeadsRefuseTheNextRequestWith503() {
        String request = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
        UnfinishedHeads heads = new UnfinishedHeads(3L * request.length());
        List<Object> dispatched = new ArrayList<>();
        RequestDecoder decoder = new RequestDecoder(new HttpDecoderConfig(), heads,
                () -> dispatched.stream().anyMatch(LastHttpContent.class::isInstance));
        EmbeddedChannel pipelining = new EmbeddedChannel(decoder, new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                dispatched.add(msg);
            }
        });

        pipelining.writeInbound(Unpooled.copiedBuffer(request.repeat(4), StandardCharsets.ISO_8859_1));
        assertThat(decoder.paused()).isTrue();
        assertThat(heads.held()).isEqualTo(3L * request.length());
        pipelining.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.ISO_8859_1));

        assertThat(dispatched).hasSize(3);
        assertThat(describe((HttpObject) dispatched.get(2))).isEqualTo("FAILED 503 the proxy is reading too many "
                + "unfinished request heads at once (0 MB); try again");
        assertThat(heads.held()).as("given back").isZero();
        pipelining.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.ISO_8859_1));
        assertThat(dispatched).as("nothing decoded after the refusal").hasSize(3);
        assertThat(heads.held()).isZero();
        dispatched.forEach(ReferenceCountUtil::release);
        pipelining.finishAndReleaseAll();
    }

    /**
     * A paused decoder does not ask for more bytes: Netty's decoder calls read() after a read that decoded nothing,
     * which would have read the paused connection on, every read parked.
     */
    @Test
    void aPausedDecoderDoesNotAskForMoreBytes() {
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        List<Object> dispatched = new ArrayList<>();
        UnfinishedHeads heads = new UnfinishedHeads(UnfinishedHeads.LIMIT);
        RequestDecoder decoder = new RequestDecoder(new HttpDecoderConfig(), heads, () -> !dispatched.isEmpty());
        EmbeddedChannel pipelining = new EmbeddedChannel(new io.netty.channel.ChannelOutboundHandlerAdapter() {
            @Override
            public void read(io.netty.channel.ChannelHandlerContext ctx) {
                reads.incrementAndGet();
                ctx.read();
            }
        }, decoder, new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                dispatched.add(msg);
            }
        });
        pipelining.writeInbound(Unpooled.copiedBuffer("GET /a HTTP/1.1\r\nHost: a\r\n\r\n", StandardCharsets.ISO_8859_1));
        int before = reads.get();

        pipelining.writeInbound(Unpooled.copiedBuffer("GET /b HTTP/1.1\r\n", StandardCharsets.ISO_8859_1));
        pipelining.writeInbound(Unpooled.copiedBuffer("Host: a\r\n", StandardCharsets.ISO_8859_1));

        assertThat(decoder.paused()).isTrue();
        assertThat(reads.get()).as("read() calls while paused").isEqualTo(before);
        assertThat(heads.held()).isEqualTo("GET /b HTTP/1.1\r\nHost: a\r\n".length());
        dispatched.forEach(ReferenceCountUtil::release);
        pipelining.finishAndReleaseAll();
        assertThat(heads.held()).isZero();
    }

    /**
     * After a request that may switch protocols, HTTP/1.2 (read as HTTP/1.1, RFC 9110 §2.5) as much as HTTP/1.1,
     * what follows is not decoded: it may be the new protocol's bytes. HTTP/1.0 cannot switch.
     */
    @Test
    void decodingStopsAfterAnUpgradeOfferInAnyHttp1VersionAbove0() {
        for (String version : List.of("HTTP/1.1", "HTTP/1.2", "HTTP/1.0")) {
            RequestDecoder decoder = new RequestDecoder(new HttpDecoderConfig(), new UnfinishedHeads(UnfinishedHeads.LIMIT),
                    () -> false);
            EmbeddedChannel upgrading = new EmbeddedChannel(decoder);
            List<String> decoded = feed(upgrading, "GET /ws " + version + "\r\nHost: a\r\nConnection: upgrade\r\n"
                    + "Upgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n");

            if (version.equals("HTTP/1.0")) {
                assertThat(decoded).as(version).containsExactly("REQUEST GET /ws", "LAST ", "REQUEST GET /next", "LAST ");
            } else {
                assertThat(decoded).as(version).containsExactly("REQUEST GET /ws", "LAST ");
                assertThat(decoder.paused()).as(version).isTrue();
            }
            upgrading.finishAndReleaseAll();
        }
    }

    /** Bytes that Netty drops are not held: what precedes a request line, and what follows a head it refused. */
    @Test
    void bytesNettyDropsAreNotCountedAsHeld() {
        UnfinishedHeads heads = new UnfinishedHeads(UnfinishedHeads.LIMIT);
        EmbeddedChannel crlf = decoder(heads);
        for (int i = 0; i < 100; i++) {
            feed(crlf, "\r\n".repeat(1000));
        }
        assertThat(heads.held()).isZero();
        assertThat(feed(crlf, "\r\nGET /x HTTP/1.1\r\n")).isEmpty();
        assertThat(heads.held()).isEqualTo("GET /x HTTP/1.1\r\n".length());
        crlf.finishAndReleaseAll();

        EmbeddedChannel refused = new EmbeddedChannel(new RequestDecoder(new HttpDecoderConfig().setMaxInitialLineLength(100),
                heads, () -> false));
        assertThat(feed(refused, "GET /" + "a".repeat(200) + " HTTP/1.1\r\n")).singleElement().asString().startsWith("FAILED");
        for (int i = 0; i < 100; i++) {
            feed(refused, "X-After: " + "b".repeat(1000) + "\r\n");
        }
        assertThat(heads.held()).isZero();
        refused.finishAndReleaseAll();
    }

    private List<String> feed(String bytes) {
        return feed(channel, bytes);
    }

    private static List<String> feed(EmbeddedChannel channel, String bytes) {
        channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.ISO_8859_1));
        List<String> decoded = new ArrayList<>();
        Object message;
        while ((message = channel.readInbound()) != null) {
            decoded.add(describe((HttpObject) message));
            ReferenceCountUtil.release(message);
        }
        return decoded;
    }

    private static String describe(HttpObject message) {
        if (message.decoderResult().isFailure()) {
            HttpResponseStatus status = message.decoderResult().cause() instanceof RequestDecoder.Rejected rejected
                    ? rejected.status() : HttpResponseStatus.BAD_REQUEST;
            return "FAILED " + status.code() + " " + message.decoderResult().cause().getMessage();
        }
        if (message instanceof HttpRequest request) {
            return "REQUEST " + request.method() + " " + request.uri();
        }
        String content = ((HttpContent) message).content().toString(StandardCharsets.ISO_8859_1);
        return (message instanceof LastHttpContent ? "LAST " : "CONTENT ") + content;
    }
}
