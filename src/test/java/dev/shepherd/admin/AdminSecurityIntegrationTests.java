package dev.shepherd.admin;

import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The admin port of real masters, spoken to over raw sockets so that Tomcat's own parsing and URI normalisation are
 * in the loop: one master with a token, one without (on loopback, with one allowed host name). After every attack
 * the fleet is what it was: the same desired count, the same workers with the same pids.
 */
@ExtendWith(OutputCaptureExtension.class)
class AdminSecurityIntegrationTests {

    private static final String TOKEN = "raw-sweep-token";
    private static RunningShepherd guarded;
    private static RunningShepherd open;

    @BeforeAll
    static void start() {
        // One after the other: Spring Boot's logging set-up is not safe for two applications starting at once.
        guarded = RunningShepherd.startReady("--fleet.workers=2", "--fleet.admin.token=" + TOKEN);
        open = RunningShepherd.startReady("--fleet.workers=2", "--fleet.admin.allowed-hosts=shepherd.internal");
    }

    @AfterAll
    static void stop() {
        if (open != null) {
            open.context().close();
        }
        if (guarded != null) {
            guarded.close(); // checks that no worker of either master is left
        }
    }

    @Test
    void noSpellingOfAnyEndpointWithAnyMethodGetsPastTheTokenOfARealMaster(CapturedOutput output) {
        String fleet = fleetOf(guarded);
        int logFrom = output.getAll().length();
        List<String> failures = new ArrayList<>();
        int sent = 0;
        for (AdminEndpoint endpoint : concat(AdminEndpoint.FLEET, AdminEndpoint.ACTUATOR)) {
            List<String> spellings = new ArrayList<>(PathSpellings.of(endpoint.path()));
            spellings.add(endpoint.path());
            spellings.add("http://127.0.0.1:" + guarded.adminPort() + endpoint.path()); // absolute form
            for (String spelling : spellings) {
                for (String method : AdminEndpoint.METHODS) {
                    sent++;
                    String response = RawHttp.exchange(guarded.adminPort(), request(method, spelling, endpoint.body(), Map.of()));
                    int status = RawHttp.status(response);
                    if (status < 300 || status >= 500) {
                        failures.add(method + " " + spelling + " -> " + firstLine(response));
                    }
                }
            }
        }
        for (String method : List.of("TRACE", "FOO", "get", "CONNECT", "PROPFIND")) {
            for (AdminEndpoint endpoint : AdminEndpoint.FLEET) {
                String response = RawHttp.exchange(guarded.adminPort(), request(method, endpoint.path(), null, Map.of()));
                int status = RawHttp.status(response);
                // Tomcat answers CONNECT itself with 501, RFC 9110's answer for a method a server does not implement.
                boolean refused = status >= 400 && status < 500 || method.equals("CONNECT") && status == 501;
                if (!refused || !response.contains("application/problem+json")) {
                    failures.add(method + " " + endpoint.path() + " -> " + firstLine(response));
                }
            }
        }
        assertThat(failures).as("of " + sent + " requests").isEmpty();
        assertThat(sent).isGreaterThan(10_000);
        assertThat(fleetOf(guarded)).as("desired count and pids").isEqualTo(fleet);
        // A liveness probe slower than its timeout on a loaded host warns too (fleet.HealthChecks): not the sweep's.
        assertThat(output.getAll().substring(logFrom).lines().filter(line -> !line.contains("fleet.HealthChecks")))
                .as("the log of the sweep")
                .noneMatch(line -> line.contains("\tat ") || line.contains(" WARN ") || line.contains(" ERROR "));
    }

    @Test
    void theIssuesExamplesGetNothingAndChangeNothing() {
        String fleet = fleetOf(guarded);
        assertThat(status(guarded, "GET", "/fleet;x=y", null, Map.of())).isEqualTo(400);
        assertThat(status(guarded, "GET", "/%66leet/events", null, Map.of())).isEqualTo(401);
        assertThat(status(guarded, "POST", "/fleet;x=y/scale", "{\"workers\":1}", Map.of())).isEqualTo(400);
        String traversal = RawHttp.exchange(guarded.adminPort(), request("GET", "/actuator/health/..;/x", null, Map.of()));
        assertThat(RawHttp.status(traversal)).isEqualTo(400);
        assertThat(traversal).contains("application/problem+json").doesNotContain("Exception");
        assertThat(fleetOf(guarded)).isEqualTo(fleet);
    }

    @Test
    void withTheTokenTheSameMasterAnswersAndHealthShowsDetailsOnlyToIt() {
        Map<String, String> token = Map.of("Authorization", "bearer " + TOKEN);
        assertThat(guarded.admin("GET", "/fleet", null, token).statusCode()).isEqualTo(200);
        assertThat(guarded.admin("GET", "/actuator/prometheus", null, token).body()).contains("shepherd_workers");

        HttpResponse<String> anonymous = guarded.admin("GET", "/actuator/health", null);
        assertThat(anonymous.statusCode()).isEqualTo(200);
        assertThat(anonymous.body()).contains("\"status\":\"UP\"").doesNotContain("components", "details", "path");
        assertThat(guarded.admin("GET", "/actuator/health/readiness", null).body()).isEqualTo("{\"status\":\"UP\"}");
        assertThat(guarded.admin("GET", "/actuator/health", null, token).body())
                .contains("\"fleet\":{\"details\":{\"desired\":2", "\"diskSpace\"");
        assertThat(guarded.admin("GET", "/actuator/health", null, Map.of("Authorization", "Bearer nope")).statusCode())
                .isEqualTo(401);
    }

    @Test
    void malformedFramingIsA400ProblemAndChangesNothing() {
        String fleet = fleetOf(guarded);
        for (String framing : List.of("Content-Length: abc", "Content-Length: -1", "Content-Length: 1, 2",
                "Content-Length: 3\r\nContent-Length: 4", "Transfer-Encoding: gzip")) {
            String response = RawHttp.exchange(guarded.adminPort(), "POST /fleet/reload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer " + TOKEN + "\r\n" + framing + "\r\nConnection: close\r\n\r\n0\r\n\r\n");
            // An unknown transfer coding is 501 in Tomcat, as RFC 9112 section 6.1 says; the rest is malformed, 400.
            assertThat(RawHttp.status(response)).as(framing).isEqualTo(framing.endsWith("gzip") ? 501 : 400);
            assertThat(response).as(framing).contains("application/problem+json");
        }
        assertThat(fleetOf(guarded)).isEqualTo(fleet);
    }

    /** Tomcat refuses TRACE before any filter; its error dispatch gets the port's problem, not Boot's error JSON. */
    @Test
    void aTraceIsRefusedWithAProblemNamingThePathAskedFor() {
        for (RunningShepherd master : List.of(open, guarded)) {
            String response = RawHttp.exchange(master.adminPort(), request("TRACE", "/fleet", null, Map.of()));
            assertThat(RawHttp.status(response)).isEqualTo(405);
            assertThat(response).contains("application/problem+json", "\"instance\":\"/fleet\"")
                    .doesNotContain("timestamp", "/error");
            assertThat(response).as("RFC 9457's order, as every problem of the port")
                    .containsPattern("\\{\"title\":\"Method Not Allowed\",\"status\":405,\"detail\":\"[^\"]*\",\"instance\":\"/fleet\"}");
            assertThat(RawHttp.header(response, "Allow")).as("the path's own methods, as OPTIONS lists them")
                    .isEqualTo("GET,HEAD,OPTIONS");
        }
        String scale = RawHttp.exchange(open.adminPort(), request("TRACE", "/fleet/scale", null, Map.of()));
        assertThat(RawHttp.header(scale, "Allow")).isEqualTo("POST,OPTIONS");
        String health = RawHttp.exchange(open.adminPort(), request("TRACE", "/actuator/health", null, Map.of()));
        assertThat(RawHttp.header(health, "Allow")).isEqualTo("GET,HEAD,OPTIONS");
        String page = RawHttp.exchange(open.adminPort(), request("TRACE", "/", null, Map.of()));
        assertThat(RawHttp.header(page, "Allow")).as("the fleet page").isEqualTo("GET,HEAD,OPTIONS");
        String nothing = RawHttp.exchange(open.adminPort(), request("TRACE", "/nothing-here", null, Map.of()));
        assertThat(RawHttp.header(nothing, "Allow")).isEmpty();
    }

    /** Tomcat answers 400 for a head over its buffer; the port tells it as RFC 6585's 431, saying which limit. */
    @Test
    void aRequestHeadOverTheLimitIsA431NamingTheSetting() {
        for (String request : List.of(
                "GET /actuator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n",
                "GET /actuator/health?" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) {
            String response = RawHttp.exchange(guarded.adminPort(), request);
            assertThat(RawHttp.status(response)).isEqualTo(431);
            assertThat(response).contains("application/problem+json", "server.max-http-request-header-size",
                    "Connection: close");
        }
    }

    /** More header fields than Tomcat's 100 is a 431 too, saying so (it was a 400 blaming the path). */
    @Test
    void moreHeaderFieldsThanTheLimitIsA431() {
        StringBuilder request = new StringBuilder("GET /actuator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (int i = 0; i < 150; i++) {
            request.append("X-").append(i).append(": 1\r\n");
        }
        String response = RawHttp.exchange(guarded.adminPort(), request.append("\r\n").toString());

        assertThat(RawHttp.status(response)).isEqualTo(431);
        assertThat(response).contains("application/problem+json", "more header fields than the admin port takes (100)")
                .doesNotContain("\"type\"", "percent-encoding");
    }

    /** Actuator answers an unknown health component or group with an empty 404; the port adds its problem. */
    @Test
    void anUnknownHealthGroupIsA404Problem() {
        for (String path : List.of("/actuator/health/nope", "/actuator/health/readiness/nope")) {
            HttpResponse<String> response = guarded.admin("GET", path, null);
            assertThat(response.statusCode()).as(path).isEqualTo(404);
            assertThat(response.headers().firstValue("Content-Type")).as(path).hasValue("application/problem+json");
            assertThat(response.body()).as(path).contains("\"status\":404", "no such health component or group");
        }
        assertThat(guarded.admin("HEAD", "/actuator/health/nope", null).statusCode()).isEqualTo(404);
        assertThat(guarded.admin("GET", "/actuator/health/readiness", null).body()).isEqualTo("{\"status\":\"UP\"}");
    }

    @Test
    void theErrorPageIsNoPathForClients() {
        assertThat(status(open, "GET", "/error", null, Map.of())).isEqualTo(403);
        assertThat(status(guarded, "GET", "/error", null, Map.of())).isEqualTo(401);
        assertThat(status(guarded, "GET", "/error", null, Map.of("Authorization", "Bearer " + TOKEN))).isEqualTo(403);
    }

    @Test
    void withoutATokenLoopbackCallersSeeHealthDetails() {
        assertThat(open.admin("GET", "/actuator/health", null).body()).contains("\"fleet\":{\"details\":{\"desired\":2");
    }

    @Test
    void withoutATokenAPageOfAnotherHostReadsAndChangesNothing() {
        String fleet = fleetOf(open);
        int port = open.adminPort();
        List<String> failures = new ArrayList<>();
        for (String host : List.of("evil.example", "evil.example:" + port, "localhost.evil.example", "127.0.0.1.evil.example",
                "localhost.", "127.1", "2130706433", "0x7f000001", "10.0.0.1", "[::2]", "shepherd.internal.evil.example")) {
            for (AdminEndpoint endpoint : concat(AdminEndpoint.FLEET, AdminEndpoint.ACTUATOR)) {
                int status = status(open, endpoint.method(), endpoint.path(), endpoint.body(), Map.of("Host", host));
                if (status != 403 && status != 400) {
                    failures.add(endpoint.method() + " " + endpoint.path() + " Host: " + host + " -> " + status);
                }
            }
        }
        assertThat(failures).isEmpty();
        assertThat(fleetOf(open)).isEqualTo(fleet);

        for (String host : List.of("localhost:" + port, "127.0.0.1:" + port, "127.9.9.9", "[::1]:" + port, "LocalHost",
                "shepherd.internal:" + port)) {
            assertThat(status(open, "GET", "/fleet", null, Map.of("Host", host))).as("Host: " + host).isEqualTo(200);
        }
    }

    @Test
    void withoutATokenAPageOfAnotherOriginCannotDriveTheFleet() {
        String fleet = fleetOf(open);
        int port = open.adminPort();
        String self = "127.0.0.1:" + port;
        Map<String, String> evil = Map.of("Origin", "http://evil.example");
        // The issue's examples: simple requests that a browser sends cross-origin without asking.
        assertThat(status(open, "POST", "/fleet/reload", "x", Map.of("Origin", "http://evil.example", "Content-Type", "text/plain")))
                .isEqualTo(403);
        assertThat(status(open, "POST", "/fleet/workers/1/kill", null, evil)).isEqualTo(403);
        assertThat(status(open, "POST", "/fleet/workers/2/replace", "a=b",
                Map.of("Origin", "http://evil.example", "Content-Type", "application/x-www-form-urlencoded"))).isEqualTo(403);
        // Variants: other origins, Fetch Metadata, every command, and the bodies a page may send without a preflight.
        List<String> failures = new ArrayList<>();
        List<Map<String, String>> foreign = List.of(evil, Map.of("Origin", "null"), Map.of("Origin", "http://" + self + ".evil.example"),
                Map.of("Origin", "http://localhost:" + port), Map.of("Origin", "http://127.0.0.1:1"),
                Map.of("Sec-Fetch-Site", "cross-site"), Map.of("Sec-Fetch-Site", "same-site"),
                Map.of("Sec-Fetch-Site", "same-origin", "Origin", "http://evil.example"));
        for (AdminEndpoint command : AdminEndpoint.FLEET.stream().filter(endpoint -> endpoint.method().equals("POST")).toList()) {
            for (Map<String, String> headers : foreign) {
                for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
                    int status = status(open, method, command.path(), command.body(), headers);
                    if (status != 403) {
                        failures.add(method + " " + command.path() + " " + headers + " -> " + status);
                    }
                }
            }
            for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b")) {
                int status = status(open, "POST", command.path(), "{\"workers\":3}", Map.of("Content-Type", type));
                if (status != 415) {
                    failures.add("POST " + command.path() + " as " + type + " -> " + status);
                }
            }
            int typeless = status(open, "POST", command.path(), "{\"workers\":3}", Map.of("Content-Type", ""));
            if (typeless != 415) {
                failures.add("POST " + command.path() + " with a body and no Content-Type -> " + typeless);
            }
        }
        assertThat(failures).isEmpty();
        assertThat(fleetOf(open)).as("desired count and pids").isEqualTo(fleet);
    }

    @Test
    void theFleetPagesOwnRequestsPass() {
        int port = open.adminPort();
        Map<String, String> page = Map.of("Host", "127.0.0.1:" + port, "Origin", "http://127.0.0.1:" + port,
                "Sec-Fetch-Site", "same-origin");
        String answer = RawHttp.exchange(port, request("POST", "/fleet/scale", "{\"workers\":2}", page));
        assertThat(RawHttp.status(answer)).as(answer).isEqualTo(202);
        assertThat(status(open, "GET", "/fleet", null, Map.of("Sec-Fetch-Site", "same-origin"))).isEqualTo(200);
    }

    /** The desired count and each worker's id, pid and generation. */
    private static String fleetOf(RunningShepherd master) {
        FleetSnapshot snapshot = master.snapshot();
        return snapshot.desired() + " " + snapshot.workers().stream()
                .map(worker -> worker.id() + ":" + worker.pid() + ":" + worker.generation()).sorted().toList()
                + " " + snapshot.workers().stream().map(WorkerSnapshot::state).toList();
    }

    private static int status(RunningShepherd master, String method, String target, String body, Map<String, String> headers) {
        return RawHttp.status(RawHttp.exchange(master.adminPort(), request(method, target, body, headers)));
    }

    /** A request as bytes: {@code Host} is 127.0.0.1 unless {@code headers} names one; an empty Content-Type is left out. */
    private static String request(String method, String target, String body, Map<String, String> headers) {
        StringBuilder request = new StringBuilder(method + " " + target + " HTTP/1.1\r\n");
        request.append("Host: ").append(headers.getOrDefault("Host", "127.0.0.1")).append("\r\n");
        headers.forEach((name, value) -> {
            if (!name.equals("Host") && !value.isEmpty()) {
                request.append(name).append(": ").append(value).append("\r\n");
            }
        });
        if (body != null) {
            if (!headers.containsKey("Content-Type")) {
                request.append("Content-Type: application/json\r\n");
            }
            request.append("Content-Length: ").append(body.getBytes(StandardCharsets.UTF_8).length).append("\r\n");
        }
        return request.append("Connection: close\r\n\r\n").append(body == null ? "" : body).toString();
    }

    private static String firstLine(String response) {
        int end = response.indexOf('\r');
        return end < 0 ? response : response.substring(0, end);
    }

    private static List<AdminEndpoint> concat(List<AdminEndpoint> first, List<AdminEndpoint> second) {
        List<AdminEndpoint> all = new ArrayList<>(first);
        all.addAll(second);
        return all;
    }
}
