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

import static org.assertj.core.api.Assertions.assertThat;

class HopByHopTests {

    @Test
    void fixedHopByHopHeadersAreRemoved() {
        HttpRequest request = request();
        request.headers().set("Connection", "keep-alive").set("Keep-Alive", "timeout=5").set("Proxy-Connection", "keep-alive")
                .set("Proxy-Authenticate", "Basic").set("Proxy-Authorization", "Basic dXNlcjpwYXNz").set("TE", "trailers")
                .set("Trailer", "Expires").set("Upgrade", "websocket").set("Accept", "text/plain");

        HopByHop.strip(request);

        assertThat(names(request.headers())).containsExactlyInAnyOrder("accept");
    }

    @Test
    void headersNamedInConnectionAreRemoved() {
        HttpRequest request = request();
        request.headers().set("Connection", "close, X-Session-Secret ,x-trace").set("X-Session-Secret", "s3cret")
                .set("X-Trace", "1").set("X-Kept", "yes");

        HopByHop.strip(request);

        assertThat(names(request.headers())).containsExactlyInAnyOrder("x-kept");
    }

    @Test
    void headersNamedInEveryConnectionLineAreRemoved() {
        HttpRequest request = request();
        request.headers().add("Connection", "keep-alive").add("Connection", "X-Session-Secret").set("X-Session-Secret", "s3cret");

        HopByHop.strip(request);

        assertThat(request.headers().contains("X-Session-Secret")).isFalse();
    }

    @Test
    void transferEncodingIsRemovedLikeEveryHopByHopHeaderForTheCallerToFrameAgain() {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        response.headers().set("Transfer-Encoding", "chunked").set("Connection", "keep-alive");

        HopByHop.strip(response);

        assertThat(response.headers().contains("Transfer-Encoding")).isFalse();
        assertThat(response.headers().contains("Connection")).isFalse();
    }

    @Test
    void theProxyHeaderThatCgiServersGiveAppsAsHttpProxyIsRemoved() {
        HttpRequest request = request();
        request.headers().set("Host", "example.com").set("Proxy", "http://203.0.113.9:8080");

        HopByHop.strip(request);

        assertThat(names(request.headers())).containsExactly("host");
    }

    @Test
    void endToEndHeadersAreLeftAlone() {
        HttpRequest request = request();
        request.headers().set("Host", "example.com").set("Content-Length", "5").set("Authorization", "Bearer t")
                .set("Cookie", "a=b");

        HopByHop.strip(request);

        assertThat(names(request.headers())).containsExactlyInAnyOrder("host", "content-length", "authorization", "cookie");
    }

    private static HttpRequest request() {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
    }

    private static java.util.List<String> names(HttpHeaders headers) {
        return headers.names().stream().map(String::toLowerCase).toList();
    }
}
