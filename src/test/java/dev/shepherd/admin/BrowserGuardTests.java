package dev.shepherd.admin;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

class BrowserGuardTests {

    private final BrowserGuard withoutToken = new BrowserGuard(true, List.of("shepherd.internal", "[fd00::1]"));
    private final BrowserGuard withToken = new BrowserGuard(false, List.of());

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "127.255.255.255", "[::1]",
            "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "shepherd.internal", "Shepherd.Internal", "[fd00::1]",
            "localhost:8081", "127.0.0.1:18081", "[::1]:8081", "shepherd.internal:80"})
    void withoutATokenLoopbackNamesAndAllowedHostsAreServed(String host) {
        assertThat(run(withoutToken, "GET", host, request -> { }).getStatus()).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(strings = {"evil.example", "localhost.evil.example", "127.0.0.1.evil.example", "localhost.",
            "127.0.0.256", "127.1", "2130706433", "0x7f.0.0.1", "128.0.0.1", "10.0.0.1", "0.0.0.0", "[::2]", "[::]",
            "[fd00::2]", "shepherd.internal.evil.example", "evil.example:8081", ""})
    void withoutATokenAnyOtherHostIsRefusedWith403NamingTheProperty(String host) {
        MockHttpServletResponse response = run(withoutToken, "GET", host, request -> { });

        assertThat(response.getStatus()).isEqualTo(403);
        assertThat(response.getContentType()).startsWith("application/problem+json");
        assertThat(body(response)).contains("fleet.admin.allowed-hosts");
    }

    @Test
    void withoutATokenTheHostHeaderDecidesNotAForwardedHostTheContainerMayHonour() {
        // Tomcat's RemoteIpValve, on in Kubernetes, makes getServerName() return X-Forwarded-Host.
        MockHttpServletResponse response = run(withoutToken, "GET", "evil.example", request -> {
            request.addHeader("X-Forwarded-Host", "localhost");
            request.setServerName("localhost");
        });

        assertThat(response.getStatus()).isEqualTo(403);
    }

    @Test
    void withATokenTheHostIsNotChecked() {
        assertThat(run(withToken, "GET", "evil.example", request -> { }).getStatus()).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(strings = {"POST", "PUT", "PATCH", "DELETE"})
    void unsafeMethodsFromAnotherOriginAreRefusedTokenOrNot(String method) {
        for (BrowserGuard guard : List.of(withoutToken, withToken)) {
            for (String origin : List.of("http://evil.example", "null", "http://127.0.0.1:8082", "http://localhost:8081",
                    "http://127.0.0.1:8081.evil.example", "http://evil.example/127.0.0.1:8081", "not a uri", "")) {
                assertThat(status(guard, method, origin(origin))).as(method + " from " + origin).isEqualTo(403);
            }
            for (String site : List.of("cross-site", "same-site", "CROSS-SITE", "")) {
                assertThat(status(guard, method, request -> request.addHeader("Sec-Fetch-Site", site)))
                        .as(method + " with Sec-Fetch-Site " + site).isEqualTo(403);
            }
        }
    }

    @Test
    void aSameOriginClaimDoesNotOutweighAForeignOrigin() {
        assertThat(status(withToken, "POST", origin("http://evil.example").andThen(
                request -> request.addHeader("Sec-Fetch-Site", "same-origin")))).isEqualTo(403);
    }

    @Test
    void unsafeMethodsFromTheSameOriginOrFromNoBrowserPass() {
        assertThat(status(withoutToken, "POST", origin("http://127.0.0.1:8081"))).isEqualTo(200);
        assertThat(status(withoutToken, "POST", origin("https://127.0.0.1:8081"))).as("TLS ended by a proxy in front")
                .isEqualTo(200);
        assertThat(status(withoutToken, "POST", origin("http://127.0.0.1:8081").andThen(
                request -> request.addHeader("Sec-Fetch-Site", "same-origin")))).isEqualTo(200);
        assertThat(status(withoutToken, "POST", request -> request.addHeader("Sec-Fetch-Site", "none"))).isEqualTo(200);
        assertThat(status(withoutToken, "POST", request -> { })).as("curl: neither header").isEqualTo(200);
    }

    @Test
    void safeMethodsAreNotCheckedForOrigin() {
        for (String method : List.of("GET", "HEAD", "OPTIONS")) {
            assertThat(status(withToken, method, origin("http://evil.example").andThen(
                    request -> request.addHeader("Sec-Fetch-Site", "cross-site")))).isEqualTo(200);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "text/json", "application/jsonx", "*/*", "application/*", "garbage", ";;"})
    void aCommandWithAnotherContentTypeIsRefusedWith415(String type) {
        MockHttpServletResponse response = run(withoutToken, "POST", request -> {
            request.setContentType(type);
            request.setContent("x".getBytes());
            request.addHeader("Content-Length", "1");
        });

        assertThat(response.getStatus()).isEqualTo(415);
        assertThat(body(response)).contains("Content-Type: application/json");
        assertThat(status(withoutToken, "POST", request -> request.setContentType(type))).as("even with no body")
                .isEqualTo(415);
    }

    @Test
    void aCommandBodyWithoutContentTypeIsRefusedButNoBodyAtAllPasses() {
        Map<String, Integer> expected = Map.of("5", 415, "0", 200);
        expected.forEach((length, status) -> assertThat(status(withToken, "POST",
                request -> request.addHeader("Content-Length", length))).as("Content-Length " + length).isEqualTo(status));
        assertThat(status(withToken, "POST", request -> request.addHeader("Transfer-Encoding", "chunked"))).isEqualTo(415);
    }

    @ParameterizedTest
    @ValueSource(strings = {"application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
            "application/merge-patch+json"})
    void aJsonCommandPasses(String type) {
        assertThat(status(withToken, "POST", request -> {
            request.setContentType(type);
            request.addHeader("Content-Length", "2");
        })).isEqualTo(200);
    }

    private static Consumer<MockHttpServletRequest> origin(String origin) {
        return request -> request.addHeader("Origin", origin);
    }

    private static int status(BrowserGuard guard, String method, Consumer<MockHttpServletRequest> setUp) {
        return run(guard, method, setUp).getStatus();
    }

    private static MockHttpServletResponse run(BrowserGuard guard, String method, Consumer<MockHttpServletRequest> setUp) {
        return run(guard, method, "127.0.0.1:8081", setUp);
    }

    /** A request with that {@code Host} header, which is also where the server name comes from, as in Tomcat. */
    private static MockHttpServletResponse run(BrowserGuard guard, String method, String host,
                                               Consumer<MockHttpServletRequest> setUp) {
        MockHttpServletRequest request = new MockHttpServletRequest(method, "/fleet/reload");
        request.addHeader("Host", host);
        setUp.accept(request);
        MockHttpServletResponse response = new MockHttpServletResponse();
        try {
            guard.doFilter(request, response, new MockFilterChain());
        } catch (Exception ex) {
            throw new AssertionError(ex);
        }
        return response;
    }

    private static String body(MockHttpServletResponse response) {
        try {
            return response.getContentAsString();
        } catch (java.io.UnsupportedEncodingException ex) {
            throw new AssertionError(ex);
        }
    }
}
