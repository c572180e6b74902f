package dev.shepherd.admin;

import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The admin port as an operator uses it: with a token, against a real fleet. */
class AdminIntegrationTests {

    private static final String TOKEN = "s3cret-token";
    private static final Map<String, String> AUTH = Map.of("Authorization", "Bearer " + TOKEN);
    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.admin.token=" + TOKEN);
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    @Test
    void adminEndpointsNeedTheTokenButHealthStaysOpen() {
        HttpResponse<String> missing = shepherd.admin("GET", "/fleet", null);
        assertThat(missing.statusCode()).isEqualTo(401);
        assertThat(missing.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(value -> assertThat(value).startsWith("Bearer"));
        assertThat(missing.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(missing.body()).contains("missing Authorization header");

        HttpResponse<String> wrong = shepherd.admin("GET", "/fleet", null, Map.of("Authorization", "Bearer nope"));
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("wrong token");

        assertThat(shepherd.admin("GET", "/fleet", null, AUTH).statusCode()).isEqualTo(200);
        assertThat(shepherd.admin("GET", "/actuator/prometheus", null).statusCode()).isEqualTo(401);
        assertThat(shepherd.admin("GET", "/actuator/metrics", null).statusCode()).isEqualTo(401);
        assertThat(shepherd.admin("POST", "/fleet/reload", null).statusCode()).isEqualTo(401);
        assertThat(shepherd.admin("POST", "/fleet/reload/undo", null).statusCode()).isEqualTo(401);
        assertThat(shepherd.admin("GET", "/actuator/health", null).statusCode()).isEqualTo(200);
        assertThat(shepherd.admin("GET", "/actuator/health/liveness", null).statusCode()).isEqualTo(200);
        assertThat(shepherd.admin("GET", "/actuator/health/readiness", null).body()).contains("\"status\":\"UP\"");
    }

    @Test
    void theProxyPortHasNoAdminPath() {
        HttpResponse<String> response = shepherd.get("/fleet");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).startsWith("Process handled by pid: ");
    }

    @Test
    void aKilledWorkerShowsInTheFleetEventsLogsAndPrometheus() throws Exception {
        for (int i = 0; i < 4; i++) {
            assertThat(shepherd.get("/").statusCode()).isEqualTo(200);
        }
        WorkerSnapshot victim = shepherd.snapshot().workers().get(1);
        CompletableFuture<String> stream = openEventStream();

        HttpResponse<String> kill = shepherd.admin("POST", "/fleet/workers/" + victim.id() + "/kill", "{\"signal\": \"KILL\"}", AUTH);
        assertThat(kill.statusCode()).isEqualTo(202);

        await().atMost(Duration.ofSeconds(15)).until(() -> shepherd.snapshot().workers().stream()
                .anyMatch(w -> w.id() == victim.id() && w.restarts() == 1 && w.state() == WorkerState.READY));
        String fleet = shepherd.admin("GET", "/fleet/workers/" + victim.id(), null, AUTH).body();
        assertThat(fleet).contains("\"restarts\":1", "\"code\":137", "\"signal\":\"KILL\"", "\"lastLines\":[\"Server started in process " + victim.pid());
        String events = shepherd.admin("GET", "/fleet/events", null, AUTH).body();
        assertThat(events).contains("\"type\":\"PROCESS_EXITED\"", "worker " + victim.id() + " (pid " + victim.pid() + ") exited with code 137",
                "\"type\":\"RESTARTING\"");
        String logs = shepherd.admin("GET", "/fleet/workers/" + victim.id() + "/logs?lines=10", null, AUTH).body();
        assertThat(logs).contains("\"pid\":" + victim.pid(), "Server started in process " + victim.pid());
        String prometheus = shepherd.admin("GET", "/actuator/prometheus", null, AUTH).body();
        assertThat(prometheus).contains("shepherd_worker_restarts_total{reason=\"crash\"} 1.0",
                "shepherd_workers{state=\"READY\"}", "shepherd_proxy_requests_seconds_count{method=\"GET\",outcome=\"success\",status=\"2xx\"}",
                "shepherd_proxy_in_flight", "shepherd_worker_startup_seconds_count");
        assertThat(stream.get(15, TimeUnit.SECONDS)).contains("event:fleet", "\"type\":\"PROCESS_EXITED\"", "\"pid\":" + victim.pid());
    }

    @Test
    void badCallsGetProblemDetailsThatSayWhatToFix() {
        HttpResponse<String> scale = shepherd.admin("POST", "/fleet/scale", "{\"workers\": 0}", AUTH);
        assertThat(scale.statusCode()).isEqualTo(400);
        assertThat(scale.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(scale.body()).contains("workers must be between 1 and 64");
        HttpResponse<String> malformed = shepherd.admin("POST", "/fleet/scale", "{workers: ", AUTH);
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.body()).contains("must be JSON that fits the command", "it is not valid JSON").doesNotContain("at dev.", "Exception:");
        assertThat(shepherd.admin("GET", "/fleet/workers/999", null, AUTH).statusCode()).isEqualTo(404);
        assertThat(shepherd.admin("POST", "/fleet/workers/1/kill", "{\"signal\": \"HUP\"}", AUTH).body())
                .contains("signal must be TERM or KILL");
        assertThat(shepherd.admin("GET", "/fleet/workers/1/logs?lines=0", null, AUTH).statusCode()).isEqualTo(400);
    }

    @Test
    void openApiDocumentDescribesTheAdminApiToTheTokenHolderOnly() {
        assertThat(shepherd.admin("GET", "/v3/api-docs", null).statusCode()).isEqualTo(401);
        HttpResponse<String> docs = shepherd.admin("GET", "/v3/api-docs", null, AUTH);
        assertThat(docs.statusCode()).isEqualTo(200);
        assertThat(docs.body()).contains("/fleet/scale", "/fleet/reload", "/fleet/workers/{id}/kill", "/fleet/workers/{id}/logs");
        JsonNode reloadBody = JsonMapper.builder().build().readTree(docs.body())
                .at("/paths/~1fleet~1reload/post/requestBody/content/application~1json/schema");
        assertThat(reloadBody.toString()).as("the reload's body").contains("WorkerSpecPatch");
        assertThat(JsonMapper.builder().build().readTree(docs.body()).at("/components/schemas/WorkerSpecPatch/properties")
                .propertyNames()).containsExactlyInAnyOrder("command", "environment", "workingDirectory", "readinessPath");
        JsonNode document = JsonMapper.builder().build().readTree(docs.body());
        assertThat(document.at("/info/title").asString()).isEqualTo("Shepherd admin API");
        assertThat(document.at("/paths").propertyNames()).as("no path a client cannot call").doesNotContain("/error");
        document.at("/paths").forEach(path -> path.forEach(operation -> assertThat(operation.path("summary").asString())
                .as("%s", operation.path("operationId")).isNotBlank()));
        assertThat(document.at("/components/schemas/KillRequest/properties/signal/enum").toString())
                .isEqualTo("[\"TERM\",\"KILL\"]");
        assertThat(document.at("/components/securitySchemes/adminToken/scheme").asString()).isEqualTo("bearer");
        assertThat(document.at("/security/0").propertyNames()).containsExactly("adminToken");
        assertThat(shepherd.admin("GET", "/swagger-ui/index.html", null).statusCode()).isEqualTo(200);
    }

    @Test
    void openApiDocumentListsTheErrorsOfEachOperationAsProblems() {
        ApiDocument document = apiDocument();
        JsonNode problem = document.component("Problem");
        assertThat(problem.path("properties").propertyNames()).as("RFC 9457 §3.1, no extension member")
                .containsExactlyInAnyOrder("type", "title", "status", "detail", "instance");
        assertThat(problem.path("required").valueStream().map(JsonNode::asString))
                .containsExactlyInAnyOrder("title", "status", "detail");

        assertThat(document.statuses("/fleet/scale", "post")).as("scale: no worker id, so no 404")
                .containsExactlyInAnyOrder("202", "400", "401", "403", "409", "411", "413", "415", "503");
        assertThat(document.statuses("/fleet/workers/{id}/kill", "post"))
                .containsExactlyInAnyOrder("202", "400", "401", "403", "404", "409", "411", "413", "415", "503");
        assertThat(document.statuses("/fleet/workers/{id}/signal", "post"))
                .containsExactlyInAnyOrder("202", "400", "401", "403", "404", "409", "411", "413", "415", "503");
        assertThat(document.statuses("/fleet/signal", "post"))
                .containsExactlyInAnyOrder("202", "400", "401", "403", "409", "411", "413", "415", "503");
        assertThat(document.component("SignalRequest").at("/properties/signal/enum").toString())
                .isEqualTo("[\"HUP\",\"INT\",\"QUIT\",\"USR1\",\"USR2\"]");
        assertThat(document.statuses("/fleet/workers/{id}/replace", "post"))
                .containsExactlyInAnyOrder("202", "400", "401", "403", "404", "409", "500", "503");
        assertThat(document.statuses("/fleet/events", "get")).containsExactlyInAnyOrder("200", "400", "401", "403", "503");
        assertThat(document.statuses("/fleet", "get")).containsExactlyInAnyOrder("200", "401", "403");
        assertThat(document.operation("/fleet/scale", "post").at("/responses/503/headers").propertyNames())
                .containsExactly("Retry-After");
        assertThat(document.operation("/fleet", "get").at("/responses/401/headers").propertyNames())
                .containsExactly("WWW-Authenticate");

        document.root().path("paths").properties().forEach(path -> path.getValue().properties().forEach(entry -> {
            String name = entry.getKey().toUpperCase() + " " + path.getKey();
            JsonNode operation = entry.getValue();
            Set<String> statuses = document.statuses(path.getKey(), entry.getKey());
            assertThat(statuses).as(name).contains("401", "403").doesNotContain("422");
            if (operation.has("requestBody") || operation.has("parameters")) {
                assertThat(statuses).as(name + " takes a body or parameters").contains("400");
            }
            if (path.getKey().contains("{id}")) {
                assertThat(statuses).as(name + " looks up a worker").contains("404");
            }
            operation.path("responses").properties().stream().filter(response -> !response.getKey().startsWith("2"))
                    .forEach(response -> {
                        assertThat(response.getValue().path("content").propertyNames()).as(name + " " + response.getKey())
                                .containsExactly(AdminApiDocs.PROBLEM_JSON);
                        assertThat(document.responseSchema(path.getKey(), entry.getKey(), response.getKey(),
                                AdminApiDocs.PROBLEM_JSON).path("$ref").asString()).as(name + " " + response.getKey())
                                .isEqualTo("#/components/schemas/Problem");
                    });
        }));

        JsonNode events = document.operation("/fleet/events", "get").at("/responses/200/content");
        assertThat(events.propertyNames()).containsExactlyInAnyOrder("text/event-stream", "application/json");
        assertThat(events.at("/text~1event-stream/schema/type").asString()).as("a stream, not a Java object")
                .isEqualTo("string");
        assertThat(events.at("/application~1json/schema/items/$ref").asString()).isEqualTo("#/components/schemas/FleetEvent");
        assertThat(document.root().at("/components/schemas").propertyNames()).doesNotContain("SseEmitter");
        assertThat(document.component("WorkerSpecPatch").at("/properties/environment/additionalProperties/type").toString())
                .as("null removes a variable").isEqualTo("[\"string\",\"null\"]");
    }

    /**
     * The errors the admin API answers with, called for real: each is a problem whose members the Problem schema
     * declares, with a status its operation lists. (409 is called in the reload's test; 500 needs a program that
     * cannot start, the 503s 64 open streams or 8 MiB of bodies at once: FleetControllerTests,
     * AdminEventStreamIntegrationTests and AdminFloodIntegrationTests bring those about.)
     */
    @Test
    void everyErrorIsAProblemThatItsOperationLists() {
        ApiDocument document = apiDocument();
        int worker = shepherd.snapshot().workers().get(0).id();
        Map<String, String> evilOrigin = Map.of("Authorization", "Bearer " + TOKEN, "Origin", "http://evil.example");
        Map<String, String> stream = Map.of("Authorization", "Bearer " + TOKEN, "Accept", "text/event-stream",
                "Last-Event-ID", "x");
        assertProblem(document, 401, "get", "/fleet", Answer.of(shepherd.admin("GET", "/fleet", null)));
        assertProblem(document, 401, "get", "/fleet/workers/{id}/logs",
                Answer.of(shepherd.admin("GET", "/fleet/workers/" + worker + "/logs", null, Map.of("Authorization", "Bearer nope"))));
        assertProblem(document, 400, "get", "/fleet/workers/{id}", Answer.of(shepherd.admin("GET", "/fleet/workers/abc", null, AUTH)));
        assertProblem(document, 404, "get", "/fleet/workers/{id}", Answer.of(shepherd.admin("GET", "/fleet/workers/999", null, AUTH)));
        assertProblem(document, 400, "post", "/fleet/scale", Answer.of(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 0}", AUTH)));
        assertProblem(document, 400, "post", "/fleet/scale", Answer.of(shepherd.admin("POST", "/fleet/scale", "{workers", AUTH)));
        assertProblem(document, 403, "post", "/fleet/scale", Answer.of(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 2}", evilOrigin)));
        assertProblem(document, 400, "post", "/fleet/scale", Answer.of(shepherd.admin("POST", "/fleet/scale", null, AUTH)));
        assertProblem(document, 415, "post", "/fleet/scale", raw("POST /fleet/scale",
                "Content-Type: text/plain\r\nContent-Length: 1\r\n\r\n3"));
        assertProblem(document, 411, "post", "/fleet/scale", raw("POST /fleet/scale", "Content-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\ne\r\n{\"workers\": 2}\r\n0\r\n\r\n"));
        assertProblem(document, 413, "post", "/fleet/reload", raw("POST /fleet/reload", "Content-Type: application/json\r\n"
                + "Content-Length: " + 10 * BodyBudget.MAX_BODY_BYTES + "\r\n\r\n{"));
        assertProblem(document, 415, "post", "/fleet/workers/{id}/kill", raw("POST /fleet/workers/" + worker + "/kill",
                "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nKILL"));
        assertProblem(document, 400, "post", "/fleet/reload",
                Answer.of(shepherd.admin("POST", "/fleet/reload", "{\"environment\": {\"A\": 1}}", AUTH)));
        assertProblem(document, 409, "post", "/fleet/reload/undo",
                Answer.of(shepherd.admin("POST", "/fleet/reload/undo", null, AUTH)));
        assertProblem(document, 404, "post", "/fleet/workers/{id}/replace",
                Answer.of(shepherd.admin("POST", "/fleet/workers/999/replace", null, AUTH)));
        assertProblem(document, 404, "post", "/fleet/workers/{id}/kill",
                Answer.of(shepherd.admin("POST", "/fleet/workers/999/kill", "{\"signal\": \"KILL\"}", AUTH)));
        assertProblem(document, 400, "post", "/fleet/workers/{id}/kill",
                Answer.of(shepherd.admin("POST", "/fleet/workers/" + worker + "/kill", "{\"signal\": \"HUP\"}", AUTH)));
        assertProblem(document, 404, "post", "/fleet/workers/{id}/signal",
                Answer.of(shepherd.admin("POST", "/fleet/workers/999/signal", "{\"signal\": \"USR2\"}", AUTH)));
        assertProblem(document, 400, "post", "/fleet/workers/{id}/signal",
                Answer.of(shepherd.admin("POST", "/fleet/workers/" + worker + "/signal", "{\"signal\": \"STOP\"}", AUTH)));
        assertProblem(document, 400, "post", "/fleet/workers/{id}/signal",
                Answer.of(shepherd.admin("POST", "/fleet/workers/" + worker + "/signal", null, AUTH)));
        assertProblem(document, 400, "post", "/fleet/signal",
                Answer.of(shepherd.admin("POST", "/fleet/signal", "{\"signal\": \"KILL\"}", AUTH)));
        assertProblem(document, 415, "post", "/fleet/signal", raw("POST /fleet/signal",
                "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nUSR2"));
        assertProblem(document, 400, "get", "/fleet/workers/{id}/logs",
                Answer.of(shepherd.admin("GET", "/fleet/workers/" + worker + "/logs?lines=0", null, AUTH)));
        assertProblem(document, 404, "get", "/fleet/workers/{id}/logs", Answer.of(shepherd.admin("GET", "/fleet/workers/999/logs", null, AUTH)));
        assertProblem(document, 400, "get", "/fleet/events", Answer.of(shepherd.admin("GET", "/fleet/events", null, stream)));
    }

    /**
     * A reload's body may set a variable to null, as its schema says (RFC 7396: remove it); while the reload runs, a
     * second reload, a scale and a replace get the 409 their operations list.
     */
    @Test
    void aReloadTakesNullForAVariableAndCommandsWhileItRunsGet409() {
        ApiDocument document = apiDocument();
        JsonNode patch = JsonMapper.builder().build().readTree("{\"environment\": {\"SHEPHERD_NEVER_SET\": null}}");
        assertThat(document.mismatches(document.operation("/fleet/reload", "post")
                .at("/requestBody/content/application~1json/schema"), patch)).isEmpty();
        int worker = shepherd.snapshot().workers().get(0).id();
        try {
            HttpResponse<String> reload = shepherd.admin("POST", "/fleet/reload", patch.toString(), AUTH);
            assertThat(reload.statusCode()).as(reload.body()).isEqualTo(202);
            assertMatchesSchema(document, "/fleet/reload", "post", reload);
            assertProblem(document, 409, "post", "/fleet/reload", Answer.of(shepherd.admin("POST", "/fleet/reload", null, AUTH)));
            assertProblem(document, 409, "post", "/fleet/scale",
                    Answer.of(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 2}", AUTH)));
            assertProblem(document, 409, "post", "/fleet/workers/{id}/replace",
                    Answer.of(shepherd.admin("POST", "/fleet/workers/" + worker + "/replace", null, AUTH)));
        } finally {
            awaitSteadyFleet();
        }
        assertThat(shepherd.snapshot().reload().state()).isEqualTo(ReloadStatus.State.SUCCEEDED);
        assertMatchesSchema(document, "/fleet/reload", "get", shepherd.admin("GET", "/fleet/reload", null, AUTH));
    }

    /** What the API answers matches the schema the document gives it: every member declared, null only where it says so. */
    @Test
    void answersMatchTheirSchemas() {
        ApiDocument document = apiDocument();
        int worker = shepherd.snapshot().workers().get(0).id();
        assertMatchesSchema(document, "/fleet", "get", shepherd.admin("GET", "/fleet", null, AUTH));
        assertMatchesSchema(document, "/fleet/reload", "get", shepherd.admin("GET", "/fleet/reload", null, AUTH));
        assertMatchesSchema(document, "/fleet/workers/{id}", "get", shepherd.admin("GET", "/fleet/workers/" + worker, null, AUTH));
        assertMatchesSchema(document, "/fleet/workers/{id}/logs", "get",
                shepherd.admin("GET", "/fleet/workers/" + worker + "/logs?lines=5", null, AUTH));
        assertMatchesSchema(document, "/fleet/events", "get", shepherd.admin("GET", "/fleet/events", null, AUTH));
        assertMatchesSchema(document, "/fleet/scale", "post", shepherd.admin("POST", "/fleet/scale", "{\"workers\": 2}", AUTH));
    }

    private ApiDocument apiDocument() {
        HttpResponse<String> docs = shepherd.admin("GET", "/v3/api-docs", null, AUTH);
        assertThat(docs.statusCode()).isEqualTo(200);
        return ApiDocument.parse(docs.body());
    }

    /** A response's status, media type and body, from the HTTP client or from raw bytes. */
    private record Answer(int status, String contentType, String body) {

        static Answer of(HttpResponse<String> response) {
            return new Answer(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""), response.body());
        }

        /** A response as RawHttp reads it; the problems it is used for come with a Content-Length, never chunked. */
        static Answer of(String response) {
            int end = response.indexOf("\r\n\r\n");
            String type = response.substring(0, Math.max(0, end)).lines()
                    .filter(line -> line.regionMatches(true, 0, "Content-Type:", 0, 13))
                    .map(line -> line.substring(13).strip()).findFirst().orElse("");
            String body = end < 0 ? "" : response.substring(end + 4);
            return new Answer(RawHttp.status(response),
                    type, new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
        }
    }

    /**
     * Sends {@code requestLine} with the token, Host and Connection: close, then {@code rest} (more headers, the body),
     * and no more: the end of the stream tells Tomcat that a body announced longer will not come, so that it closes
     * at once rather than wait to discard it.
     */
    /**
     * Found by a new user's attack (2026-12-04): Tomcat answered "100 Continue" at once, so a client began sending a
     * body that was then refused. The refusal comes first now, and no 100 at all.
     */
    @Test
    void aBodyTooLargeIsRefusedBeforeAContinueInvitesIt() throws IOException {
        String request = "POST /fleet/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN
                + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: "
                + 10 * BodyBudget.MAX_BODY_BYTES + "\r\n\r\n";
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.adminPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            String answer = RawHttp.readUntilClose(socket.getInputStream());
            assertThat(answer).startsWith("HTTP/1.1 413").doesNotContain("HTTP/1.1 100");
        }
    }

    private Answer raw(String requestLine, String rest) {
        String request = requestLine + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN
                + "\r\nConnection: close\r\n" + rest;
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.adminPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.shutdownOutput();
            return Answer.of(RawHttp.readUntilClose(socket.getInputStream()));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void assertProblem(ApiDocument document, int status, String method, String path, Answer answer) {
        String call = method.toUpperCase() + " " + path + " -> " + answer.status() + " " + answer.body();
        assertThat(answer.status()).as(call).isEqualTo(status);
        assertThat(answer.contentType()).as(call).startsWith(AdminApiDocs.PROBLEM_JSON);
        assertThat(document.statuses(path, method)).as("the statuses listed for " + call).contains(String.valueOf(status));
        JsonNode body = JsonMapper.builder().build().readTree(answer.body());
        assertThat(document.mismatches(document.responseSchema(path, method, String.valueOf(status),
                AdminApiDocs.PROBLEM_JSON), body)).as(call).isEmpty();
        assertThat(body.path("status").asInt()).as(call).isEqualTo(status);
        List<String> members = List.copyOf(body.propertyNames());
        List<String> rfcOrder = Stream.concat(RFC_9457_ORDER.stream().filter(members::contains),
                members.stream().filter(member -> !RFC_9457_ORDER.contains(member))).toList();
        assertThat(members).as("RFC 9457's order, extensions after: " + call).isEqualTo(rfcOrder);
    }

    /** The members of RFC 9457 (§3.1), in the order every problem of the admin port lists them. */
    private static final List<String> RFC_9457_ORDER = List.of("type", "title", "status", "detail", "instance");

    /** The response is the operation's 2xx, and its JSON body matches the schema the operation gives it. */
    private static void assertMatchesSchema(ApiDocument document, String path, String method, HttpResponse<String> response) {
        String call = method.toUpperCase() + " " + path + " -> " + response.statusCode() + " " + response.body();
        assertThat(response.statusCode()).as(call).isBetween(200, 299);
        assertThat(response.headers().firstValue("Content-Type")).as(call)
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
        JsonNode schema = document.responseSchema(path, method, String.valueOf(response.statusCode()), "application/json");
        assertThat(schema.isMissingNode()).as(call + ": the status and media type are listed").isFalse();
        assertThat(document.mismatches(schema, JsonMapper.builder().build().readTree(response.body()))).as(call).isEmpty();
    }

    /** Waits until the fleet runs its 2 workers, all READY, and no reload runs: what the other tests start from. */
    private static void awaitSteadyFleet() {
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            FleetSnapshot snapshot = shepherd.snapshot();
            return !snapshot.reload().running() && snapshot.workers().size() == 2
                    && snapshot.workers().stream().allMatch(worker -> worker.state() == WorkerState.READY);
        });
    }

    private CompletableFuture<String> openEventStream() {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shepherd.adminPort() + "/fleet/events"))
                .header("Accept", "text/event-stream").header("Authorization", "Bearer " + TOKEN).build();
        HttpResponse<java.io.InputStream> response = shepherd.sendStream(request);
        assertThat(response.statusCode()).isEqualTo(200);
        return CompletableFuture.supplyAsync(() -> {
            StringBuilder seen = new StringBuilder();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    seen.append(line).append('\n');
                    if (line.contains("\"type\":\"PROCESS_EXITED\"")) {
                        return seen.toString();
                    }
                }
            } catch (java.io.IOException ex) {
                seen.append(ex);
            }
            return seen.toString();
        });
    }
}
