package dev.shepherd.proxy;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;


import static org.assertj.core.api.Assertions.assertThat;

class RequestHeadTests {

    private static final String CLIENT = "192.0.2.10";

    @Test
    void hopByHopHeadersAreDroppedIncludingTheOnesNamedInConnection() {
        HttpRequest request = get("/");
        request.headers().set("Host", "shop.example").set("Connection", "keep-alive, X-Hop").set("X-Hop", "1")
                .set("Keep-Alive", "timeout=5").set("Upgrade", "h2c").set("TE", "trailers").set("Accept", "*/*");

        RequestHead.prepare(request, CLIENT);

        HttpHeaders headers = request.headers();
        assertThat(headers.contains("Connection")).isFalse();
        assertThat(headers.contains("X-Hop")).isFalse();
        assertThat(headers.contains("Keep-Alive")).isFalse();
        assertThat(headers.contains("Upgrade")).isFalse();
        assertThat(headers.contains("TE")).isFalse();
        assertThat(headers.get("Accept")).isEqualTo("*/*");
    }

    @Test
    void clientAddressIsAppendedToAnExistingXForwardedFor() {
        HttpRequest request = get("/");
        request.headers().set("X-Forwarded-For", "203.0.113.7, 198.51.100.2");

        RequestHead.prepare(request, CLIENT);

        assertThat(request.headers().get("X-Forwarded-For")).isEqualTo("203.0.113.7, 198.51.100.2, 192.0.2.10");
    }

    @Test
    void clientAddressStartsXForwardedForWhenThereIsNone() {
        HttpRequest request = get("/");

        RequestHead.prepare(request, CLIENT);

        assertThat(request.headers().get("X-Forwarded-For")).isEqualTo("192.0.2.10");
    }

    @Test
    void forwardedProtoAndHostAreSetAndHostIsKept() {
        HttpRequest request = get("/cart");
        request.headers().set("Host", "shop.example:8080").set("X-Forwarded-Proto", "https").set("X-Forwarded-Host", "evil");

        RequestHead.prepare(request, CLIENT);

        assertThat(request.headers().get("Host")).isEqualTo("shop.example:8080");
        assertThat(request.headers().get("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(request.headers().get("X-Forwarded-Host")).isEqualTo("shop.example:8080");
        assertThat(request.uri()).isEqualTo("/cart");
    }

    @Test
    void absoluteFormTargetBecomesOriginFormWithHostSetToItsAuthority() {
        HttpRequest request = get("http://other.example:9000/a/b%20c?x=1&y=%2F");
        request.headers().set("Host", "shop.example");

        RequestHead.prepare(request, CLIENT);

        assertThat(request.uri()).isEqualTo("/a/b%20c?x=1&y=%2F");
        assertThat(request.headers().get("Host")).isEqualTo("other.example:9000");
        assertThat(request.headers().get("X-Forwarded-Host")).isEqualTo("other.example:9000");
    }

    @Test
    void absoluteFormTargetWithoutPathBecomesTheRoot() {
        HttpRequest request = get("http://other.example");

        RequestHead.prepare(request, CLIENT);

        assertThat(request.uri()).isEqualTo("/");
        assertThat(request.headers().get("Host")).isEqualTo("other.example");
    }

    @Test
    void http10RequestIsForwardedAsHttp11AndKeepsItsConnectionSemantics() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");

        RequestHead head = RequestHead.prepare(request, CLIENT);

        assertThat(request.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
        assertThat(head.keepAlive()).isFalse();
    }

    @Test
    void http11RequestAskingToCloseIsNotKeptAlive() {
        HttpRequest request = get("/");
        request.headers().set("Connection", "close");

        assertThat(RequestHead.prepare(request, CLIENT).keepAlive()).isFalse();
        assertThat(RequestHead.prepare(get("/"), CLIENT).keepAlive()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
    void idempotentRequestsAreRetriable(String method) {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), "/");

        assertThat(RequestHead.prepare(request, CLIENT).retriable()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"POST", "PATCH"})
    void nonIdempotentRequestsAreNotRetriable(String method) {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), "/orders");

        assertThat(RequestHead.prepare(request, CLIENT).retriable()).isFalse();
    }

    @Test
    void postWithAnIdempotencyKeyIsRetriable() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/orders");
        request.headers().set("Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324");

        assertThat(RequestHead.prepare(request, CLIENT).retriable()).isTrue();
    }

    @Test
    void chunkedResponseStaysChunkedForAnHttp11Client() {
        RequestHead head = RequestHead.prepare(get("/"), CLIENT);
        HttpResponse response = ok();
        response.headers().set("Transfer-Encoding", "chunked").set("Connection", "keep-alive").set("Keep-Alive", "timeout=60");

        boolean keep = head.prepareResponse(response, true);

        assertThat(keep).isTrue();
        assertThat(response.headers().get("Transfer-Encoding")).isEqualTo("chunked");
        assertThat(response.headers().contains("Connection")).isFalse();
        assertThat(response.headers().contains("Keep-Alive")).isFalse();
    }

    @Test
    void responseGetsConnectionCloseWhenTheClientConnectionIsNotKept() {
        RequestHead head = RequestHead.prepare(get("/"), CLIENT);
        HttpResponse response = ok();
        response.headers().set("Content-Length", "2");

        boolean keep = head.prepareResponse(response, false);

        assertThat(keep).isFalse();
        assertThat(response.headers().get("Connection")).isEqualTo("close");
        assertThat(response.headers().get("Content-Length")).isEqualTo("2");
    }

    @Test
    void chunkedResponseToAnHttp10ClientIsSentUnchunkedAndEndedByClosing() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
        request.headers().set("Connection", "keep-alive");
        RequestHead head = RequestHead.prepare(request, CLIENT);
        HttpResponse response = ok();
        response.headers().set("Transfer-Encoding", "chunked");

        boolean keep = head.prepareResponse(response, true);

        assertThat(keep).isFalse();
        assertThat(response.headers().contains("Transfer-Encoding")).isFalse();
        assertThat(response.headers().get("Connection")).isEqualTo("close");
    }

    @Test
    void lengthFramedResponseKeepsAnHttp10KeepAliveClientOpen() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
        request.headers().set("Connection", "keep-alive");
        RequestHead head = RequestHead.prepare(request, CLIENT);
        HttpResponse response = ok();
        response.headers().set("Content-Length", "2");

        boolean keep = head.prepareResponse(response, true);

        assertThat(keep).isTrue();
        assertThat(response.headers().get("Connection")).isEqualTo("keep-alive");
    }

    @Test
    void unframedResponseIsChunkedForAnHttp11Client() {
        RequestHead head = RequestHead.prepare(get("/"), CLIENT);
        HttpResponse response = ok();

        boolean keep = head.prepareResponse(response, true);

        assertThat(keep).isTrue();
        assertThat(response.headers().get("Transfer-Encoding")).isEqualTo("chunked");
    }

    @Test
    void unframedResponseToAnHttp10ClientIsEndedByClosing() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
        request.headers().set("Connection", "keep-alive");
        RequestHead head = RequestHead.prepare(request, CLIENT);
        HttpResponse response = ok();

        assertThat(head.prepareResponse(response, true)).isFalse();
        assertThat(response.headers().contains("Transfer-Encoding")).isFalse();
        assertThat(response.headers().get("Connection")).isEqualTo("close");
    }

    @Test
    void responsesWithoutABodyAreNotChunked() {
        RequestHead head = RequestHead.prepare(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.HEAD, "/"), CLIENT);
        HttpResponse toHead = ok();
        assertThat(head.prepareResponse(toHead, true)).isTrue();
        assertThat(toHead.headers().contains("Transfer-Encoding")).isFalse();

        RequestHead get = RequestHead.prepare(get("/"), CLIENT);
        for (HttpResponseStatus status : new HttpResponseStatus[] {HttpResponseStatus.NO_CONTENT, HttpResponseStatus.NOT_MODIFIED}) {
            HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
            assertThat(get.prepareResponse(response, true)).as(status.toString()).isTrue();
            assertThat(response.headers().contains("Transfer-Encoding")).as(status.toString()).isFalse();
        }
    }

    private static HttpRequest get(String uri) {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
    }

    private static HttpResponse ok() {
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    }
}
