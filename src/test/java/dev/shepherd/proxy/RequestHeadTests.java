package dev.shepherd.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestHeadTests {

    /** A client straight from the internet: its forwarded headers are replaced. */
    private static final ForwardedHeaders CLIENT = new ForwardedHeaders("192.0.2.10", false, "8080");
    /** The proxy's end of the client's connection. */
    private static final java.net.InetSocketAddress LOCAL = new java.net.InetSocketAddress("192.0.2.1", 8080);
    /** A load balancer in front: its forwarded headers are kept. */
    private static final ForwardedHeaders BALANCER = new ForwardedHeaders("10.0.0.5", true, "8080");
    private static final Set<String> WEBSOCKET = Set.of("websocket");

    /** The framing decided last by {@link #frame}. */
    private ResponseFraming last;

    private ResponseFraming frame(RequestHead head, ResponseHead response, boolean keepClient) {
        last = ResponseFraming.of(response, head.http10(), keepClient);
        return last;
    }

    @Test
    void hopByHopHeadersAreDroppedIncludingTheOnesNamedInConnection() {
        HttpRequest request = get("/");
        request.headers().set("Host", "shop.example").set("Connection", "keep-alive, X-Hop").set("X-Hop", "1")
                .set("Keep-Alive", "timeout=5").set("Upgrade", "h2c").set("TE", "trailers").set("Accept", "*/*");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        HttpHeaders headers = request.headers();
        assertThat(headers.contains("Connection")).isFalse();
        assertThat(headers.contains("X-Hop")).isFalse();
        assertThat(headers.contains("Keep-Alive")).isFalse();
        assertThat(headers.contains("Upgrade")).isFalse();
        assertThat(headers.contains("TE")).isFalse();
        assertThat(headers.get("Accept")).isEqualTo("*/*");
    }

    /**
     * A WebSocket offer without exactly one Sec-WebSocket-Key is no handshake (RFC 6455 §4.1): refused with 400 rather
     * than passed on, where a worker's 101 to it became a 502 counted against the worker (an attacking helper).
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void aWebSocketOfferWithoutExactlyOneKeyIsRefused(int keys) {
        HttpRequest request = websocketOffer(keys);

        assertThatThrownBy(() -> RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL))
                .isInstanceOfSatisfying(RequestDecoder.Rejected.class, rejected -> {
                    assertThat(rejected.status().code()).isEqualTo(400);
                    assertThat(rejected.getMessage()).isEqualTo("a WebSocket handshake carries exactly one "
                            + "Sec-WebSocket-Key (RFC 6455 §4.1), not " + keys);
                });
    }

    /**
     * The key is a nonce of 16 bytes in base64 (RFC 6455 §4.1), the check of Node's {@code ws} server: an empty one,
     * two joined by a comma, one of another length or alphabet is no handshake either (an attacking helper's were
     * passed on).
     */
    @ParameterizedTest
    @ValueSource(strings = {"", "dGhlIHNhbXBsZSBub25jZQ==, AAAAAAAAAAAAAAAAAAAAAA==", "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25j*Q==", "dGhlIHNhbXBsZSBub25jZQ-=",
            "dGhlIHNhbXBsZSBub25jZSBv", "dGhlIHNhbXBsZSBub25jZQ=A"})
    void aWebSocketKeyThatIsNotSixteenBytesInBase64IsRefused(String key) {
        HttpRequest request = websocketOffer(0);
        request.headers().add("Sec-WebSocket-Key", key);

        assertThatThrownBy(() -> RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL))
                .isInstanceOfSatisfying(RequestDecoder.Rejected.class, rejected -> {
                    assertThat(rejected.status().code()).isEqualTo(400);
                    assertThat(rejected.getMessage()).isEqualTo("a WebSocket handshake's Sec-WebSocket-Key is 16 "
                            + "bytes in base64 (RFC 6455 §4.1)");
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAAAA==", "+/+/+/+/+/+/+/+/+/+/+w=="})
    void aWebSocketKeyOfSixteenBytesInBase64GoesOn(String key) {
        HttpRequest request = websocketOffer(0);
        request.headers().add("Sec-WebSocket-Key", key);

        assertThat(RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL).upgrade()).isTrue();
    }

    @Test
    void aWebSocketOfferWithOneKeyGoesOnAndAWebSocketUpgradeNotOfferedIsNoHandshake() {
        assertThat(RequestHead.prepare(websocketOffer(1), CLIENT, WEBSOCKET, LOCAL).upgrade()).isTrue();

        HttpRequest notOffered = websocketOffer(0);
        notOffered.headers().remove("Connection");
        assertThat(RequestHead.prepare(notOffered, CLIENT, WEBSOCKET, LOCAL).upgrade())
                .as("Upgrade without the upgrade token in Connection: a plain request").isFalse();
        HttpRequest otherAllowed = websocketOffer(0);
        otherAllowed.headers().set("Upgrade", "example");
        assertThat(RequestHead.prepare(otherAllowed, CLIENT, Set.of("websocket", "example"), LOCAL).upgrade())
                .as("another protocol needs no WebSocket key").isTrue();
    }

    private static HttpRequest websocketOffer(int keys) {
        HttpRequest request = get("/socket");
        request.headers().set("Connection", "Upgrade").set("Upgrade", "websocket").set("Sec-WebSocket-Version", "13");
        for (int i = 0; i < keys; i++) {
            request.headers().add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        }
        return request;
    }

    @Test
    void trustedPeerIsAppendedToTheXForwardedForItSent() {
        HttpRequest request = get("/");
        request.headers().set("X-Forwarded-For", "203.0.113.7, 198.51.100.2").set("X-Forwarded-Proto", "https");

        RequestHead.prepare(request, BALANCER, WEBSOCKET, LOCAL);

        assertThat(request.headers().get("X-Forwarded-For")).isEqualTo("203.0.113.7, 198.51.100.2, 10.0.0.5");
        assertThat(request.headers().get("X-Forwarded-Proto")).isEqualTo("https");
    }

    @Test
    void untrustedClientsXForwardedForIsReplacedByItsAddress() {
        HttpRequest request = get("/");
        request.headers().set("X-Forwarded-For", "203.0.113.7, 198.51.100.2");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.headers().getAll("X-Forwarded-For")).containsExactly("192.0.2.10");
    }

    @Test
    void clientAddressStartsXForwardedForWhenThereIsNone() {
        HttpRequest request = get("/");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.headers().get("X-Forwarded-For")).isEqualTo("192.0.2.10");
    }

    @Test
    void untrustedClientsForwardedProtoAndHostAreReplacedAndHostIsKept() {
        HttpRequest request = get("/cart");
        request.headers().set("Host", "shop.example:8080").set("X-Forwarded-Proto", "https").set("X-Forwarded-Host", "evil");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.headers().get("Host")).isEqualTo("shop.example:8080");
        assertThat(request.headers().get("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(request.headers().get("X-Forwarded-Host")).isEqualTo("shop.example:8080");
        assertThat(request.headers().get("X-Forwarded-Port")).isEqualTo("8080");
        assertThat(request.uri()).isEqualTo("/cart");
    }

    @Test
    void absoluteFormTargetBecomesOriginFormWithHostSetToItsAuthority() {
        HttpRequest request = get("http://other.example:9000/a/b%20c?x=1&y=%2F");
        request.headers().set("Host", "shop.example");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.uri()).isEqualTo("/a/b%20c?x=1&y=%2F");
        assertThat(request.headers().get("Host")).isEqualTo("other.example:9000");
        assertThat(request.headers().get("X-Forwarded-Host")).isEqualTo("other.example:9000");
    }

    @Test
    void aTrustedPeersForwardedHeadersStayWhenItsClientNamesThemInConnection() {
        // Traefik's CVE-2024-45410: a client behind a proxy that passes Connection on had the proxy's chain removed.
        HttpRequest request = get("/");
        request.headers().set("Connection", "keep-alive, X-Forwarded-For, X-Forwarded-Proto, X-Real-IP, Forwarded")
                .set("X-Forwarded-For", "203.0.113.7").set("X-Forwarded-Proto", "https").set("X-Real-IP", "203.0.113.7")
                .set("Forwarded", "for=203.0.113.7;proto=https").set("X-Trace", "1").add("Connection", "X-Trace");

        RequestHead.prepare(request, BALANCER, WEBSOCKET, LOCAL);

        assertThat(request.headers().get("X-Forwarded-For")).isEqualTo("203.0.113.7, 10.0.0.5");
        assertThat(request.headers().get("X-Forwarded-Proto")).isEqualTo("https");
        assertThat(request.headers().get("X-Real-IP")).isEqualTo("203.0.113.7");
        assertThat(request.headers().get("Forwarded")).isEqualTo("for=203.0.113.7;proto=https");
        assertThat(request.headers().contains("X-Trace")).as("other names in Connection still go").isFalse();
    }

    @Test
    void framingHeadersSpeltWithUnderscoresAreRemovedFromEveryPeer() {
        for (ForwardedHeaders peer : List.of(CLIENT, BALANCER)) {
            HttpRequest request = get("/");
            request.headers().set("Transfer_Encoding", "chunked").set("Content_Length", "5").set("host_", "x")
                    .set("Connection_", "close").set("X_Api_Key", "kept")
                    // What the WebSocket check reads: a CGI-style server's HTTP_SEC_WEBSOCKET_KEY, or a hixie-76 key
                    // that makes it read 8 bytes nothing framed.
                    .set("Sec_WebSocket_Key", "AAAAAAAAAAAAAAAAAAAAAA==").set("sec_websocket_version", "8")
                    .set("Sec_WebSocket_Key1", "4 @1  46546xW%0l 1 5").set("Sec-WebSocket_Key2", "12998 5 Y3 1  .P00")
                    .set("Sec_WebSocket_Protocol", "kept");

            RequestHead.prepare(request, peer, WEBSOCKET, LOCAL);

            assertThat(request.headers().names()).as("trusted: " + (peer == BALANCER))
                    .doesNotContain("Transfer_Encoding", "Content_Length", "Sec_WebSocket_Key", "sec_websocket_version",
                            "Sec_WebSocket_Key1", "Sec-WebSocket_Key2")
                    .contains("X_Api_Key", "host_", "Connection_", "Sec_WebSocket_Protocol");
        }
    }

    @Test
    void anOptionsRequestForAUriWithoutPathIsForwardedAsAsterisk() {
        HttpRequest server = http11(HttpMethod.OPTIONS, "http://other.example:8080");
        RequestHead.prepare(server, CLIENT, WEBSOCKET, LOCAL);
        assertThat(server.uri()).as("RFC 9112 §3.2.4").isEqualTo("*");
        assertThat(server.headers().get("Host")).isEqualTo("other.example:8080");

        HttpRequest root = http11(HttpMethod.OPTIONS, "http://other.example/");
        RequestHead.prepare(root, CLIENT, WEBSOCKET, LOCAL);
        assertThat(root.uri()).isEqualTo("/");

        HttpRequest query = http11(HttpMethod.OPTIONS, "http://other.example?a=1");
        RequestHead.prepare(query, CLIENT, WEBSOCKET, LOCAL);
        assertThat(query.uri()).isEqualTo("/?a=1");
    }

    @Test
    void absoluteFormTargetWithoutPathBecomesTheRoot() {
        HttpRequest request = get("http://other.example");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.uri()).isEqualTo("/");
        assertThat(request.headers().get("Host")).isEqualTo("other.example");
    }

    @Test
    void http10RequestIsForwardedAsHttp11AndKeepsItsConnectionSemantics() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");

        RequestHead head = RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
        assertThat(head.keepAlive()).isFalse();
    }

    @Test
    void http11RequestAskingToCloseIsNotKeptAlive() {
        HttpRequest request = get("/");
        request.headers().set("Connection", "close");

        assertThat(RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL).keepAlive()).isFalse();
        assertThat(RequestHead.prepare(get("/"), CLIENT, WEBSOCKET, LOCAL).keepAlive()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
    void idempotentRequestsAreRetriable(String method) {
        HttpRequest request = http11(HttpMethod.valueOf(method), "/");

        assertThat(RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL).retriable()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"POST", "PATCH"})
    void nonIdempotentRequestsAreNotRetriable(String method) {
        HttpRequest request = http11(HttpMethod.valueOf(method), "/orders");

        assertThat(RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL).retriable()).isFalse();
    }

    @Test
    void postWithAnIdempotencyKeyIsRetriable() {
        HttpRequest request = http11(HttpMethod.POST, "/orders");
        request.headers().set("Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324");

        assertThat(RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL).retriable()).isTrue();
    }

    @Test
    void chunkedResponseStaysChunkedForAnHttp11Client() {
        RequestHead head = RequestHead.prepare(get("/"), CLIENT, WEBSOCKET, LOCAL);
        ResponseHead response = response(head, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
                + "Keep-Alive: timeout=60\r\n\r\n");

        assertThat(frame(head, response, true).keepClient()).isTrue();
        assertThat(text(response)).isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        assertThat(last.rechunk()).isFalse();
    }

    @Test
    void responseGetsConnectionCloseWhenTheClientConnectionIsNotKept() {
        RequestHead head = RequestHead.prepare(get("/"), CLIENT, WEBSOCKET, LOCAL);
        ResponseHead response = response(head, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");

        assertThat(frame(head, response, false).keepClient()).isFalse();
        assertThat(text(response)).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nconnection: close\r\n\r\n");
    }

    @Test
    void chunkedResponseToAnHttp10ClientIsSentUnchunkedAndEndedByClosing() {
        RequestHead head = RequestHead.prepare(http10KeepAlive(), CLIENT, WEBSOCKET, LOCAL);
        ResponseHead response = response(head, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");

        assertThat(frame(head, response, true).keepClient()).isFalse();
        assertThat(text(response)).isEqualTo("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
    }

    @Test
    void lengthFramedResponseKeepsAnHttp10KeepAliveClientOpen() {
        RequestHead head = RequestHead.prepare(http10KeepAlive(), CLIENT, WEBSOCKET, LOCAL);
        ResponseHead response = response(head, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");

        assertThat(frame(head, response, true).keepClient()).isTrue();
        assertThat(text(response)).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nconnection: keep-alive\r\n\r\n");
    }

    @Test
    void unframedResponseIsChunkedForAnHttp11Client() {
        RequestHead head = RequestHead.prepare(get("/"), CLIENT, WEBSOCKET, LOCAL);
        ResponseHead response = response(head, "HTTP/1.1 200 OK\r\n\r\n");

        assertThat(frame(head, response, true).keepClient()).isTrue();
        assertThat(text(response)).isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        assertThat(last.rechunk()).isTrue();
    }

    @Test
    void unframedResponseToAnHttp10ClientIsEndedByClosing() {
        RequestHead head = RequestHead.prepare(http10KeepAlive(), CLIENT, WEBSOCKET, LOCAL);
        ResponseHead response = response(head, "HTTP/1.1 200 OK\r\n\r\n");

        assertThat(frame(head, response, true).keepClient()).isFalse();
        assertThat(text(response)).isEqualTo("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
        assertThat(last.rechunk()).isFalse();
    }

    @Test
    void responsesWithoutABodyAreNotChunked() {
        RequestHead toHead = RequestHead.prepare(http11(HttpMethod.HEAD, "/"), CLIENT, WEBSOCKET, LOCAL);
        ResponseHead headResponse = response(toHead, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n");
        assertThat(frame(toHead, headResponse, true).keepClient()).isTrue();
        assertThat(text(headResponse)).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n");

        RequestHead get = RequestHead.prepare(get("/"), CLIENT, WEBSOCKET, LOCAL);
        for (String status : new String[] {"204 No Content", "304 Not Modified"}) {
            ResponseHead response = response(get, "HTTP/1.1 " + status + "\r\n\r\n");
            assertThat(frame(get, response, true).keepClient()).as(status).isTrue();
            assertThat(text(response)).as(status).isEqualTo("HTTP/1.1 " + status + "\r\n\r\n");
        }
        ResponseHead noContent = response(get, "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n");
        assertThat(frame(get, noContent, true).keepClient()).isTrue();
        assertThat(text(noContent)).isEqualTo("HTTP/1.1 204 No Content\r\n\r\n");
    }

    /** A worker's response head to {@code request}, as the proxy reads it. */
    @ParameterizedTest
    @ValueSource(strings = {"keep-alive, Content-Length", "Transfer-Encoding", "close, HOST", "x, content-length "})
    void connectionNamingAHeaderTheFramingOrRoutingNeedsIsRefused(String connection) {
        HttpRequest request = http11(HttpMethod.POST, "/x");
        request.headers().set("Connection", connection).set("Content-Length", "39");

        assertThatThrownBy(() -> RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL)).isInstanceOfSatisfying(RequestDecoder.Rejected.class,
                rejected -> assertThat(rejected.status().code()).isEqualTo(400));
    }

    @Test
    void forwardedFramingIsTheParsedOneWhateverTheHopByHopStripRemoves() {
        HttpRequest request = http11(HttpMethod.POST, "/x");
        request.headers().set("Content-Length", "39").set("Connection", "keep-alive, X-Other").set("X-Other", "1");

        RequestHead head = RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.headers().getAll("Content-Length")).containsExactly("39");
        assertThat(request.headers().contains("Transfer-Encoding")).isFalse();
        assertThat(head.bodyless()).isFalse();
    }

    @Test
    void chunkedRequestIsForwardedChunkedWithoutALength() {
        HttpRequest request = http11(HttpMethod.POST, "/x");
        request.headers().set("Transfer-Encoding", "chunked");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.headers().getAll("Transfer-Encoding")).containsExactly("chunked");
        assertThat(request.headers().contains("Content-Length")).isFalse();
    }

    @Test
    void idempotencyKeyNamedInConnectionDoesNotReachTheWorkerAndSoDoesNotMakeThePostRetriable() {
        HttpRequest request = http11(HttpMethod.POST, "/orders");
        request.headers().set("Idempotency-Key", "k-1").set("Connection", "Idempotency-Key");

        RequestHead head = RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.headers().contains("Idempotency-Key")).isFalse();
        assertThat(head.retriable()).isFalse();
    }

    @Test
    void http10ExpectationIsIgnoredAndWithoutHostTheProxysAddressIsTheWorkersHost() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.POST, "/upload");
        request.headers().set("Expect", "100-continue").set("Content-Length", "3");

        RequestHead.prepare(request, CLIENT, WEBSOCKET, LOCAL);

        assertThat(request.headers().contains("Expect")).isFalse();
        assertThat(request.headers().get("Host")).as("RFC 9112 §3.3: the connection's local address and port")
                .isEqualTo("192.0.2.1:8080");
        assertThat(request.headers().contains("X-Forwarded-Host")).as("the client named none").isFalse();
        HttpRequest overIpv6 = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
        RequestHead.prepare(overIpv6, CLIENT, WEBSOCKET, new java.net.InetSocketAddress("::1", 9000));
        assertThat(overIpv6.headers().get("Host")).isEqualTo("[::1]:9000");
    }

    @Test
    void expectationOnARequestWithoutContentIsNotForwardedAndOneWithContentIs() {
        HttpRequest bodyless = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        bodyless.headers().set("Host", "t").set("Expect", "100-continue");
        HttpRequest upload = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/upload");
        upload.headers().set("Host", "t").set("Expect", "100-continue").set("Content-Length", "3");

        RequestHead.prepare(bodyless, CLIENT, WEBSOCKET, LOCAL);
        RequestHead.prepare(upload, CLIENT, WEBSOCKET, LOCAL);

        assertThat(bodyless.headers().contains("Expect")).isFalse();
        assertThat(upload.headers().get("Expect")).isEqualTo("100-continue");
    }

    private static ResponseHead response(RequestHead request, String head) {
        UpstreamDecoder decoder = new UpstreamDecoder();
        decoder.expect(request.isHead(), request.http10(), request.upgrade());
        EmbeddedChannel worker = new EmbeddedChannel(decoder);
        worker.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
        ResponseHead response = worker.readInbound();
        worker.finishAndReleaseAll();
        return response;
    }

    private static String text(ResponseHead response) {
        String text = response.lines().toString(StandardCharsets.ISO_8859_1);
        response.release();
        return text;
    }

    private static HttpRequest http10KeepAlive() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
        request.headers().set("Connection", "keep-alive");
        return request;
    }

    private static HttpRequest get(String uri) {
        return http11(HttpMethod.GET, uri);
    }

    /** An HTTP/1.1 request with the Host header RFC 9112 requires. */
    private static HttpRequest http11(HttpMethod method, String uri) {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
        request.headers().set("Host", "a");
        return request;
    }

}
