package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link ResponseRelay} on an embedded client channel: what the client receives, part by part. */
class ResponseRelayTests {

    private static final ForwardedHeaders CLIENT = new ForwardedHeaders("192.0.2.10", false, "8080");
    /** The proxy's end of the client's connection. */
    private static final java.net.InetSocketAddress LOCAL = new java.net.InetSocketAddress("192.0.2.1", 8080);

    private final EmbeddedChannel client = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final ChannelHandlerContext raw = client.pipeline().firstContext();

    @AfterEach
    void close() {
        client.finishAndReleaseAll();
    }

    @Test
    void aFixedLengthHeadWaitsForItsFirstBodyPartSoAFailureBeforeItSendsNothing() {
        ResponseRelay relay = relay(http11());
        relay.head(response(http11(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), true, null);
        client.flush();
        assertThat(relay.started()).isFalse();
        assertThat(written()).isEmpty();

        relay.discard();
        assertThat(relay.started()).isFalse();
    }

    @Test
    void theHeadGoesWithTheFirstBodyPart() {
        ResponseRelay relay = relay(http11());
        relay.head(response(http11(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"), true, null);
        relay.body(ascii("ok"));
        relay.end();
        client.flush();

        assertThat(relay.started()).isTrue();
        assertThat(written()).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assertThat(relay.keepClient()).isTrue();
    }

    @Test
    void aStickySetCookieLineGoesBeforeTheFramingLines() {
        ResponseRelay relay = relay(http11());
        relay.head(response(http11(), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"), false,
                "set-cookie: SRV=abc; Path=/; HttpOnly; SameSite=Lax\r\n".getBytes(StandardCharsets.US_ASCII));
        relay.end();
        client.flush();

        assertThat(written()).startsWith("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                + "set-cookie: SRV=abc; Path=/; HttpOnly; SameSite=Lax\r\ntransfer-encoding: chunked\r\n"
                + "connection: close\r\n\r\n");
    }

    @Test
    void aBodyEndedByTheWorkersCloseIsChunkedForAnHttp11ClientAsItArrives() {
        ResponseRelay relay = relay(http11());
        relay.head(response(http11(), "HTTP/1.1 200 OK\r\n\r\n"), true, null);
        client.flush();
        assertThat(written()).isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");

        relay.body(ascii("data: one\n\n"));
        client.flush();
        assertThat(written()).isEqualTo("b\r\ndata: one\n\n\r\n");
        relay.end();
        client.flush();
        assertThat(written()).isEqualTo("0\r\n\r\n");
    }

    @Test
    void interimResponsesReachOnlyAnHttp11Client() {
        ResponseRelay relay11 = relay(http11());
        relay11.interim(response(http11(), "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"), false);
        assertThat(written()).isEqualTo("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n");

        HttpRequest http10 = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
        ResponseRelay relay10 = relay(http10);
        relay10.interim(response(http10, "HTTP/1.1 103 Early Hints\r\n\r\n"), false);
        assertThat(written()).isEmpty();
    }

    /**
     * With sticky sessions on, a 1xx's {@code Set-Cookie} (which curl stores) is removed: it would pass the checks only
     * a final head goes through, and a worker could set the proxy's own cookie (found by an attacking helper).
     */
    @Test
    void anInterimResponseLosesItsSetCookieLinesWhenAsked() {
        ResponseRelay relay = relay(http11());
        relay.interim(response(http11(), "HTTP/1.1 103 Early Hints\r\nSet-Cookie: SRV=forged\r\nLink: </a.css>\r\n"
                + "set-cookie: other=1\r\n\r\n"), true);
        assertThat(written()).isEqualTo("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n");

        relay.interim(response(http11(), "HTTP/1.1 103 Early Hints\r\nSet-Cookie: kept=1\r\n\r\n"), false);
        assertThat(written()).as("sticky sessions off: passed on as it came")
                .isEqualTo("HTTP/1.1 103 Early Hints\r\nSet-Cookie: kept=1\r\n\r\n");
    }

    @Test
    void atMostEightInterimResponsesReachTheClientForOneRequestWhateverItsAttempts() {
        ResponseRelay relay = relay(http11());
        for (int attempt = 0; attempt < 3; attempt++) {
            for (int i = 0; i < 5; i++) {
                relay.interim(response(http11(), "HTTP/1.1 103 Early Hints\r\n\r\n"), false);
            }
            relay.discard();
        }
        assertThat(written().split("103 Early Hints", -1).length - 1).isEqualTo(UpstreamDecoder.MAX_INTERIM_RESPONSES);
    }

    @Test
    void aSwitchTellsTheClientTheProtocol() {
        HttpRequest upgrade = http11();
        upgrade.headers().set("Connection", "Upgrade").set("Upgrade", "websocket")
                .set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        ResponseRelay relay = relay(upgrade);
        relay.switching(response(upgrade, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                + "Upgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n"));
        assertThat(written()).isEqualTo("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\n"
                + "connection: upgrade\r\nupgrade: websocket\r\n\r\n");
    }

    private ResponseRelay relay(HttpRequest request) {
        return new ResponseRelay(raw, RequestHead.prepare(request, CLIENT, Set.of("websocket"), LOCAL));
    }

    private static ResponseHead response(HttpRequest request, String head) {
        UpstreamDecoder decoder = new UpstreamDecoder();
        HttpRequest copy = new DefaultHttpRequest(request.protocolVersion(), request.method(), request.uri());
        copy.headers().set(request.headers());
        RequestHead prepared = RequestHead.prepare(copy, CLIENT, Set.of("websocket"), LOCAL);
        decoder.expect(prepared.isHead(), prepared.http10(), prepared.upgrade());
        EmbeddedChannel worker = new EmbeddedChannel(decoder);
        worker.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
        ResponseHead response = worker.readInbound();
        worker.finishAndReleaseAll();
        return response;
    }

    private static HttpRequest http11() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        request.headers().set("Host", "a");
        return request;
    }

    private String written() {
        StringBuilder text = new StringBuilder();
        for (Object message; (message = client.readOutbound()) != null; ) {
            ByteBuf bytes = (ByteBuf) message;
            text.append(bytes.toString(StandardCharsets.ISO_8859_1));
            bytes.release();
        }
        return text.toString();
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }
}
