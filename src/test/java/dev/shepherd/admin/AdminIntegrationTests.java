package dev.shepherd.admin;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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
        assertThat(malformed.body()).contains("must be valid JSON").doesNotContain("at dev.", "Exception:");
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
