package dev.shepherd.admin;

import dev.shepherd.fleet.ExitCause;
import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.FleetEvents;
import dev.shepherd.fleet.FleetExceptions;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.Generation;
import dev.shepherd.fleet.ReloadProblem;
import dev.shepherd.fleet.WorkerSpec;
import dev.shepherd.fleet.WorkerSpecPatch;
import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.fleet.WorkerFleetService;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.worker.LogAllowance;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.LogFiles;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Import;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.shepherd.fleet.FleetProperties;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Bean;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.context.bean.override.convention.TestBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.BDDMockito.given;
import static org.mockito.BDDMockito.willThrow;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

@WebMvcTest(FleetController.class)
@Import(AdminSecurity.class)
@EnableConfigurationProperties(FleetProperties.class)
@ExtendWith(OutputCaptureExtension.class)
class FleetControllerTests {

    private static final Instant NOW = Instant.parse("2025-01-01T12:00:00Z");

    @TestConfiguration(proxyBeanMethods = false)
    static class FixedClock {

        @Bean
        Clock clock() {
            return Clock.fixed(NOW, ZoneOffset.UTC);
        }
    }

    @Autowired
    private MockMvcTester mvc;

    /** No token here: MockMvc's requests come from a process of the master's user. */
    @TestBean
    private SocketOwners socketOwners;

    @MockitoBean
    private WorkerFleetService fleet;

    @MockitoBean
    private FleetEventStream eventStream;

    @MockitoBean
    private TrafficTotals traffic;

    private final FleetSnapshot snapshot = mock(FleetSnapshot.class);

    @BeforeEach
    void fleetOfTwo() {
        WorkerSnapshot ready = new WorkerSnapshot(1, 0, 4242, 40_001, WorkerState.READY, 2, 1, NOW.minusSeconds(90), 17,
                new WorkerExit(4100, 137, "KILL", NOW.minusSeconds(91), Duration.ofSeconds(30), "crashed",
                        List.of("started", "working")), ExitCause.KILLED_BY_SIGNAL, null, null, null, null);
        WorkerSnapshot backoff = new WorkerSnapshot(2, 1, 0, 0, WorkerState.BACKOFF, 2, 3, null, 0, null, null, "crashed", null, null,
                NOW.plusMillis(3_200));
        given(snapshot.desired()).willReturn(2);
        given(snapshot.workers()).willReturn(List.of(ready, backoff));
        given(snapshot.inRotation()).willReturn(1);
        given(snapshot.reload()).willReturn(new ReloadStatus(ReloadStatus.State.IDLE, 2, 0, 0, null, null, null, null));
        given(fleet.snapshot()).willReturn(snapshot);
        given(fleet.logLines()).willReturn(1000);
        given(fleet.noSuchWorker(org.mockito.ArgumentMatchers.anyInt())).willAnswer(call ->
                new dev.shepherd.fleet.FleetExceptions.NoSuchWorkerException(call.getArgument(0, Integer.class)));
        given(fleet.logs(anyInt())).willReturn(Optional.empty());
        given(traffic.read()).willReturn(new FleetView.Traffic(1200, 3));
    }

    @Test
    void fleetShowsDesiredReadyActualReloadTrafficAndEachWorker() {
        assertThat(mvc.get().uri("/fleet")).hasStatusOk()
                .hasContentTypeCompatibleWith(MediaType.APPLICATION_JSON)
                .bodyJson().isLenientlyEqualTo("""
                        {
                          "desired": 2, "ready": 1, "actual": 1,
                          "reload": {"state": "IDLE", "generation": 2, "total": 0, "replaced": 0},
                          "traffic": {"requests": 1200, "failures": 3},
                          "workers": [
                            {"id": 1, "index": 0, "pid": 4242, "port": 40001, "state": "READY", "generation": 2, "restarts": 1,
                             "startedAt": "2025-01-01T11:58:30Z", "uptimeMillis": 90000, "inFlight": 0, "requests": 17, "restartInMillis": null,
                             "lastExit": {"pid": 4100, "code": 137, "signal": "KILL", "uptimeMillis": 30000,
                                          "reason": "crashed", "lastLines": ["started", "working"]}},
                            {"id": 2, "index": 1, "state": "BACKOFF", "restarts": 3, "uptimeMillis": null, "lastExit": null,
                             "restartInMillis": 3200}
                          ]
                        }
                        """);
    }

    @Test
    void workerIsShownById() {
        assertThat(mvc.get().uri("/fleet/workers/1")).hasStatusOk()
                .bodyJson().isLenientlyEqualTo("""
                        {"id": 1, "pid": 4242, "state": "READY", "lastExit": {"code": 137, "signal": "KILL"}}
                        """);
    }

    @Test
    void unknownWorkerIsA404ProblemSayingWhereToLook() {
        assertProblem(mvc.get().uri("/fleet/workers/9"), HttpStatus.NOT_FOUND, "No such worker",
                "Worker 9 is not in the fleet; GET /fleet (or shepherd ls) lists the current ones, with their ids and indexes (an index is not an id)");
    }

    @Test
    void workerIdThatIsNoNumberIsA400Problem() {
        assertProblem(mvc.get().uri("/fleet/workers/abc"), HttpStatus.BAD_REQUEST, "Invalid request",
                "id must be a decimal number (digits 0-9), not 'abc'");
    }

    @Test
    void scaleSetsTheDesiredCountAndAnswersTheOneBefore() {
        given(fleet.scale(4)).willReturn(2);

        assertThat(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 4}"))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"desired\": 4, \"previous\": 2}");
        verify(fleet).scale(4);
    }

    /** Found by a new user: scale 2 of a fleet of 2 was told as "scaling"; the answer now says nothing changed. */
    @Test
    void aScaleToTheCountDesiredAlreadyIsAcceptedWithPreviousEqualToDesired() {
        given(fleet.scale(2)).willReturn(2);

        assertThat(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 2}"))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"desired\": 2, \"previous\": 2}");
    }

    /**
     * Found by a new user: a 400 of Spring MVC's (Jackson's alphabetical order) listed detail, instance, status, title,
     * and BrowserGuard's 415 title, status, detail, instance. Both have RFC 9457's order now, as every problem does.
     */
    @Test
    void a400AndA415ProblemListTheirMembersInRfc9457Order() throws Exception {
        String invalid = mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{}").exchange()
                .getResponse().getContentAsString();
        String notJson = mvc.post().uri("/fleet/scale").contentType(MediaType.TEXT_PLAIN).content("3").exchange()
                .getResponse().getContentAsString();
        String noWorker = mvc.get().uri("/fleet/workers/9").exchange().getResponse().getContentAsString();

        for (String body : List.of(invalid, notJson, noWorker)) {
            assertThat(tools.jackson.databind.json.JsonMapper.builder().build().readTree(body).propertyNames()).as(body)
                    .containsExactly("title", "status", "detail", "instance");
        }
        assertThat(invalid).contains("\"status\":400");
        assertThat(notJson).contains("\"status\":415");
    }

    @Test
    void scaleWithMalformedJsonIsA400ProblemShowingAValidBody() {
        MvcTestResult result = mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": ").exchange();

        assertProblem(result, HttpStatus.BAD_REQUEST, "Malformed request body", null);
        assertThat(result).bodyJson().extractingPath("$.detail").asString()
                .startsWith("The body must be JSON that fits the command, such as {\"workers\": 3} for /fleet/scale");
        verify(fleet, never()).scale(anyInt());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"workers": "three"}        | 'workers' must be a whole number
            {"workers": {"n": 3}}       | 'workers' must be a whole number
            {"workers": [3]}            | 'workers' must be a whole number
            {"workers": true}           | 'workers' must be a whole number
            {"workers": 2.9}            | 'workers' must be a whole number
            {"workers": 1.0}            | 'workers' must be a whole number
            {"workers": "2"}            | 'workers' must be a whole number
            {"workers": 1, "workers": 9} | the field 'workers' is given twice
            {"workers": 99999999999999} | 'workers' is out of range
            {"workers": 3, "extra": 1}  | there is no field 'extra'
            {"worker": 3}               | there is no field 'worker'
            [3]                         | the body must be a JSON object
            "3"                         | the body must be a JSON object
            3                           | the body must be a JSON object
            {"workers": 3               | it is not valid JSON at line 1, column 14
            {workers: 3}                | it is not valid JSON at line 1, column 2
            {"workers": 2}{"workers": 3} | something follows the JSON value: send one
            """)
    void aBadScaleBodyIsA400ProblemNamingTheFieldAndNoJavaType(String body, String what, CapturedOutput output) {
        MvcTestResult result = mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content(body).exchange();

        assertProblem(result, HttpStatus.BAD_REQUEST, "Malformed request body", "The body must be JSON that fits the command, such as "
                + "{\"workers\": 3} for /fleet/scale, {\"signal\": \"KILL\"} for a kill or {\"signal\": \"USR2\"} "
                + "for a signal: " + what);
        assertNoInternals(result);
        assertThat(output).doesNotContain("\tat ", "WARN", "ERROR");
        verify(fleet, never()).scale(anyInt());
    }

    /** Found by a new user: curl -X POST /fleet/scale was a 415 telling to send JSON, as if a body had come. */
    @Test
    void aScaleWithNoBodyIsA400SayingTheBodyIsNeededWhateverItsContentType(CapturedOutput output) {
        String detail = "This command needs a body: send JSON with Content-Type: application/json, such as "
                + "{\"workers\": 3} for /fleet/scale";
        MvcTestResult untyped = mvc.post().uri("/fleet/scale").exchange();
        assertProblem(untyped, HttpStatus.BAD_REQUEST, "Missing request body", detail);
        assertNoInternals(untyped);

        MvcTestResult typed = mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).exchange();
        assertProblem(typed, HttpStatus.BAD_REQUEST, "Missing request body", detail);
        assertProblem(mvc.post().uri("/fleet/scale").header("Content-Length", "0"), HttpStatus.BAD_REQUEST,
                "Missing request body", detail);
        assertThat(output).doesNotContain("\tat ", "WARN", "ERROR");
        verify(fleet, never()).scale(anyInt());
    }

    @Test
    void aKillSignalOfTheWrongTypeIsAProblemNamingTheField() {
        MvcTestResult result = mvc.post().uri("/fleet/workers/1/kill").contentType(MediaType.APPLICATION_JSON)
                .content("{\"signal\": {\"name\": \"KILL\"}}").exchange();

        assertThat(result).bodyJson().extractingPath("$.detail").asString().endsWith("'signal' must be a string");
        assertNoInternals(result);
        verify(fleet, never()).kill(anyInt(), anyString());
    }

    @Test
    void aLongValueIsQuotedOnlyInPart() {
        String id = "9".repeat(5000);

        MvcTestResult result = mvc.get().uri("/fleet/workers/" + id).exchange();

        assertProblem(result, HttpStatus.BAD_REQUEST, "Invalid request", null);
        assertThat(result).bodyJson().extractingPath("$.detail").asString()
                .startsWith("id is out of range: '999").hasSizeLessThan(150);
    }

    /**
     * Spring's number conversion took hexadecimal ({@code 0x1f}, {@code #1f}), dropped whitespace anywhere
     * ({@code 1 0} was 10, and {@code +5} in a query, which Tomcat reads as " 5", was 5) and, through {@code Long.valueOf},
     * a {@code +} and the digits of other scripts: an id or a seq read one way in a log and another way here. Every
     * number of every handler is decimal digits now, a 400 naming the parameter otherwise.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            GET  | /fleet/workers/0x1                    | id    | 0x1
            GET  | /fleet/workers/%231                   | id    | #1
            GET  | /fleet/workers/%2B1                   | id    | +1
            GET  | /fleet/workers/%D9%A1                 | id    | ١
            POST | /fleet/workers/0x1/replace            | id    | 0x1
            POST | /fleet/workers/01%200/kill            | id    | 01 0
            POST | /fleet/workers/0X1/signal             | id    | 0X1
            GET  | /fleet/workers/1/logs?after=0x1       | after | 0x1
            GET  | /fleet/workers/1/logs?after=%231      | after | #1
            GET  | /fleet/workers/1/logs?after=1%200     | after | 1 0
            GET  | /fleet/workers/1/logs?lines=%2B5      | lines | +5
            GET  | /fleet/workers/1/logs?lines=5%20      | lines | `5 `
            GET  | /fleet/workers/1/logs?lines=%D9%A5   | lines | ٥
            GET  | /fleet/workers/1/logs?lines=1e3       | lines | 1e3
            """)
    void everyNumberOfThePathAndQueryIsDecimalDigitsOnly(String method, String uri, String parameter, String value) {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(new LogBuffer.Line(4242, NOW, "only"));
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        MvcTestResult result = mvc.perform(org.springframework.test.web.servlet.request.MockMvcRequestBuilders
                .request(org.springframework.http.HttpMethod.valueOf(method), java.net.URI.create(uri))
                .contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"HUP\"}"));

        assertProblem(result, HttpStatus.BAD_REQUEST, "Invalid request", parameter
                + " must be a decimal number (digits 0-9), not '" + value + "'");
        verify(fleet, never()).replace(anyInt());
        verify(fleet, never()).kill(anyInt(), anyString());
        verify(fleet, never()).signal(anyInt(), anyString());
    }

    @Test
    void aLastEventIdThatIsNotDecimalIsA400() {
        for (String id : List.of("0x10", "+10", "#10", "1 0", "\u0661")) {
            assertProblem(mvc.get().uri("/fleet/events").accept(MediaType.TEXT_EVENT_STREAM).header("Last-Event-ID", id),
                    HttpStatus.BAD_REQUEST, "Invalid request", "Last-Event-ID must be the seq of an event (a decimal "
                            + "number), not '" + id + "'");
        }
    }

    /** A number below a parameter's range is a number: it is told against the range, not as no number. */
    @Test
    void aNegativeNumberIsToldAgainstTheParametersRange() {
        given(fleet.logs(1)).willReturn(Optional.of(new LogBuffer(10)));

        assertProblem(mvc.get().uri("/fleet/workers/1/logs?lines=-5"), HttpStatus.BAD_REQUEST, "Invalid request",
                "lines must be at least 1, not -5");
        assertProblem(mvc.get().uri("/fleet/workers/-1"), HttpStatus.NOT_FOUND, "No such worker",
                "Worker -1 is not in the fleet; GET /fleet (or shepherd ls) lists the current ones, with their ids and indexes (an index is not an id)");
        assertThat(mvc.get().uri("/fleet/workers/0001")).as("leading zeros are decimal still").hasStatusOk();
    }

    /** Found by a new user's attack (2026-12-04): "id must be a number, not '99999999999'", which is one. */
    @Test
    void aNumberTooLargeIsOutOfRangeNotNoNumber() {
        assertProblem(mvc.get().uri("/fleet/workers/99999999999"), HttpStatus.BAD_REQUEST, "Invalid request",
                "id is out of range: '99999999999'");
    }

    @Test
    void scaleWithoutTheWorkersFieldIsA400ProblemSayingWhatToSend() {
        assertProblem(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{}"),
                HttpStatus.BAD_REQUEST, "Invalid request", "workers: give the number of workers, e.g. {\"workers\": 3}");
        verify(fleet, never()).scale(anyInt());
    }

    @Test
    void scaleOutOfRangeIsA400ProblemGivingTheRange() {
        willThrow(new IllegalArgumentException("workers must be between 1 and 64 (fleet.max-workers), not 65"))
                .given(fleet).scale(65);

        assertProblem(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 65}"),
                HttpStatus.BAD_REQUEST, "Invalid request", "workers must be between 1 and 64 (fleet.max-workers), not 65");
    }

    @Test
    void scaleDuringAReloadIsA409Problem() {
        willThrow(new FleetExceptions.FleetConflictException("A reload to generation 2 is running; scale once it has finished"))
                .given(fleet).scale(3);

        assertProblem(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 3}"),
                HttpStatus.CONFLICT, "Not possible now", "A reload to generation 2 is running; scale once it has finished");
    }

    /** Found by attack: a scale the busy supervisor answered late was a 500 "failed" with a stack trace in the log. */
    @Test
    void aCommandTheBusySupervisorDidNotBeginInTimeIsA503SayingItWasWithdrawn() {
        willThrow(FleetExceptions.SupervisorBusyException.withdrawn(10)).given(fleet).scale(64);

        assertProblem(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 64}"),
                HttpStatus.SERVICE_UNAVAILABLE, "Supervisor busy", "The supervisor did not get to the command within 10 s: "
                        + "it is busy (starting many workers, say). The command was withdrawn and nothing changed: "
                        + "send it again later");
        assertThat(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 64}"))
                .hasHeader("Retry-After", "5");
    }

    /** A command under way is not to be sent again: no Retry-After invites it. */
    @Test
    void aCommandTheSupervisorBeganAndDidNotFinishInTimeIsA503WithoutRetryAfter() {
        willThrow(FleetExceptions.SupervisorBusyException.underWay(70)).given(fleet).scale(64);

        assertProblem(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 64}"),
                HttpStatus.SERVICE_UNAVAILABLE, "Supervisor busy", "The supervisor began the command and did not finish "
                        + "it within 70 s; it goes on: GET /fleet (shepherd status) shows when it has");
        assertThat(mvc.post().uri("/fleet/scale").contentType(MediaType.APPLICATION_JSON).content("{\"workers\": 64}"))
                .doesNotContainHeader("Retry-After");
    }

    @Test
    void reloadIsAcceptedWithItsStatus() {
        given(fleet.reload(any())).willReturn(new ReloadStatus(ReloadStatus.State.RUNNING, 3, 2, 0, NOW, null, null, null));

        assertThat(mvc.post().uri("/fleet/reload")).hasStatus(HttpStatus.ACCEPTED).bodyJson().isLenientlyEqualTo("""
                {"state": "RUNNING", "generation": 3, "total": 2, "replaced": 0, "startedAt": "2025-01-01T12:00:00Z"}
                """);
    }

    @Test
    void reloadWhileOneIsRunningIsA409Problem() {
        ReloadStatus running = new ReloadStatus(ReloadStatus.State.RUNNING, 3, 4, 1, NOW, null, null, null);
        given(fleet.reload(any())).willThrow(new FleetExceptions.ReloadInProgressException(running));

        assertProblem(mvc.post().uri("/fleet/reload"), HttpStatus.CONFLICT, "Reload already running",
                "A reload to generation 3 is running (1 of 4 workers replaced); wait until GET /fleet/reload "
                        + "(shepherd status) shows it finished, or stop it and roll it back with POST /fleet/reload/undo "
                        + "(shepherd reload --undo)");
    }

    @Test
    void undoIsAcceptedWithItsStatusOrA409WithoutAnEarlierSpec() {
        given(fleet.undo()).willReturn(new ReloadStatus(ReloadStatus.State.RUNNING, 4, 2, 0, NOW, null, null, null))
                .willThrow(new FleetExceptions.FleetConflictException("No reload has succeeded since the master "
                        + "started: there is no earlier spec to go back to"));

        assertThat(mvc.post().uri("/fleet/reload/undo")).hasStatus(HttpStatus.ACCEPTED).bodyJson().isLenientlyEqualTo("""
                {"state": "RUNNING", "generation": 4, "total": 2, "replaced": 0}
                """);
        assertProblem(mvc.post().uri("/fleet/reload/undo"), HttpStatus.CONFLICT, "Not possible now",
                "No reload has succeeded since the master started: there is no earlier spec to go back to");
        verify(fleet, never()).reload(any());
    }

    @Test
    void reloadBodyReachesTheFleetAsAPatch() {
        given(fleet.reload(any())).willReturn(new ReloadStatus(ReloadStatus.State.RUNNING, 3, 2, 0, NOW, null, null, null));

        assertThat(mvc.post().uri("/fleet/reload").contentType(MediaType.APPLICATION_JSON).content("""
                {"command": ["node", "app-v2.js", "--port", "{port}"], "environment": {"FEATURE_X": "on", "OLD_VAR": null},
                 "readinessPath": "/ready"}""")).hasStatus(HttpStatus.ACCEPTED);

        java.util.Map<String, String> environment = new java.util.LinkedHashMap<>();
        environment.put("FEATURE_X", "on");
        environment.put("OLD_VAR", null);
        verify(fleet).reload(new WorkerSpecPatch(List.of("node", "app-v2.js", "--port", "{port}"), environment, null, "/ready"));
    }

    @Test
    void reloadWithoutABodyOrWithAnEmptyOneKeepsTheSpec() {
        given(fleet.reload(any())).willReturn(new ReloadStatus(ReloadStatus.State.RUNNING, 3, 2, 0, NOW, null, null, null));

        assertThat(mvc.post().uri("/fleet/reload")).hasStatus(HttpStatus.ACCEPTED);
        assertThat(mvc.post().uri("/fleet/reload").contentType(MediaType.APPLICATION_JSON).content("{}"))
                .hasStatus(HttpStatus.ACCEPTED);

        verify(fleet, org.mockito.Mockito.times(2)).reload(WorkerSpecPatch.NONE);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"comand": ["node", "app.js"]}        | there is no field 'comand'; a reload takes command, environment, workingDirectory and readinessPath
            {"command": "node app.js"}            | command must be a JSON array of strings, such as ["node", "app.js", "--port", "{port}"]
            {"command": ["node", 1]}              | command[1] must be a string
            {"environment": {"FEATURE_X": true}}  | environment 'FEATURE_X' must be a string, or null to remove the variable
            {"workingDirectory": ["/srv"]}        | workingDirectory must be a string
            {"readinessPath": 200}                | readinessPath must be a string
            """)
    void reloadBodyOfTheWrongShapeIsA400NamingTheFieldAndStartsNothing(String body, String detail) {
        assertProblem(mvc.post().uri("/fleet/reload").contentType(MediaType.APPLICATION_JSON).content(body),
                HttpStatus.BAD_REQUEST, "Invalid request", detail);
        verify(fleet, never()).reload(any());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"command": []}                               | command must be a non-empty list whose first element names the program, such as ["node", "app.js"]
            {"command": ["", "app.js"]}                   | command must be a non-empty list whose first element names the program, such as ["node", "app.js"]
            {"command": ["node", "app.js", "{foo}"]}      | command[2] has the unknown placeholder {foo}; the known ones are {port}, {id} and {index}
            {"workingDirectory": "/no/such/dir"}          | workingDirectory '/no/such/dir' does not exist
            {"workingDirectory": "/etc/hostname"}         | workingDirectory '/etc/hostname' is not a directory
            {"workingDirectory": "no/such/dir"}           | workingDirectory 'no/such/dir' does not exist (relative paths start at /)
            {"readinessPath": "ready"}                    | readinessPath must be empty (a TCP connect) or a path that starts with '/', in visible ASCII, such as "/health", not 'ready'
            {"environment": {"A=B": "x"}}                 | environment has the invalid variable name 'A=B': a name must be non-empty, without '=' or control characters
            {"environment": {"": "x"}}                    | environment has the invalid variable name '': a name must be non-empty, without '=' or control characters
            {"environment": {"A": "x\\u0000y"}}          | environment.A contains a NUL character
            """)
    void invalidSpecIsA400NamingTheField(String body, String detail) {
        WorkerSpec current = new WorkerSpec(List.of("node", "app.js"), java.util.Map.of(), null, "/health");
        given(fleet.reload(any())).willAnswer(invocation -> {
            invocation.getArgument(0, WorkerSpecPatch.class).applyTo(current, java.nio.file.Path.of("/"));
            return new ReloadStatus(ReloadStatus.State.RUNNING, 3, 2, 0, NOW, null, null, null);
        });

        assertProblem(mvc.post().uri("/fleet/reload").contentType(MediaType.APPLICATION_JSON).content(body),
                HttpStatus.BAD_REQUEST, "Invalid request", detail);
    }

    @Test
    void reloadBodyPastItsLimitIsA413() {
        String body = "{\"readinessPath\": \"/" + "a".repeat(1024 * 1024) + "\"}";

        assertProblem(mvc.post().uri("/fleet/reload").contentType(MediaType.APPLICATION_JSON).content(body),
                HttpStatus.CONTENT_TOO_LARGE, "Content Too Large",
                "A command's body may have at most 1048576 bytes; this one has " + body.length());
        verify(fleet, never()).reload(any());
    }

    @Test
    void latestReloadShowsWhyItFailedAsAProblem() {
        ReloadProblem problem = new ReloadProblem("about:blank", "Reload failed", 502,
                "worker 7 (generation 3) exited with code 3 before it was READY; last log lines: \"boom\"", 7, 3, 3,
                List.of("boom"), null);
        given(snapshot.reload()).willReturn(new ReloadStatus(ReloadStatus.State.FAILED, 3, 2, 1, NOW.minusSeconds(5), NOW,
                problem.detail(), problem));

        assertThat(mvc.get().uri("/fleet/reload")).hasStatusOk().bodyJson().isLenientlyEqualTo("""
                {"state": "FAILED", "generation": 3, "total": 2, "replaced": 1, "startedAt": "2025-01-01T11:59:55Z",
                 "finishedAt": "2025-01-01T12:00:00Z",
                 "reason": "worker 7 (generation 3) exited with code 3 before it was READY; last log lines: \\"boom\\"",
                 "problem": {"type": "about:blank", "title": "Reload failed", "status": 502,
                             "detail": "worker 7 (generation 3) exited with code 3 before it was READY; last log lines: \\"boom\\"",
                             "worker": 7, "generation": 3, "exit": 3, "lastLines": ["boom"], "errorLine": null}}
                """);
    }

    @Test
    void fleetShowsEachGenerationsSpecWithSecretsMasked() {
        WorkerSpec old = new WorkerSpec(List.of("node", "app.js"), java.util.Map.of("API_TOKEN", "abc", "NODE_ENV", "production"),
                java.nio.file.Path.of("/srv/app"), "/health");
        WorkerSpec current = new WorkerSpec(List.of("node", "app-v2.js"), java.util.Map.of("DB_PASSWORD", "hunter2"), null, "");
        given(snapshot.generations()).willReturn(List.of(new Generation(2, false, 1, old), new Generation(3, true, 1, current)));

        assertThat(mvc.get().uri("/fleet")).hasStatusOk().bodyJson().isLenientlyEqualTo("""
                {"generations": [
                  {"generation": 2, "current": false, "workers": 1,
                   "spec": {"command": ["node", "app.js"], "environment": {"API_TOKEN": "******", "NODE_ENV": "production"},
                            "workingDirectory": "/srv/app", "readinessPath": "/health"}},
                  {"generation": 3, "current": true, "workers": 1,
                   "spec": {"command": ["node", "app-v2.js"], "environment": {"DB_PASSWORD": "******"},
                            "workingDirectory": null, "readinessPath": ""}}]}
                """);
        assertThat(mvc.get().uri("/fleet")).bodyText().doesNotContain("abc", "hunter2");
    }

    @Test
    void replaceNamesTheReplacement() {
        given(fleet.replace(1)).willReturn(5);

        assertThat(mvc.post().uri("/fleet/workers/1/replace")).hasStatus(HttpStatus.ACCEPTED)
                .bodyJson().isStrictlyEqualTo("{\"worker\": 1, \"replacement\": 5}");
    }

    @Test
    void restartIsKeptAsAnAliasOfReplace() {
        given(fleet.replace(1)).willReturn(6);

        assertThat(mvc.post().uri("/fleet/workers/1/restart")).hasStatus(HttpStatus.ACCEPTED)
                .bodyJson().isStrictlyEqualTo("{\"worker\": 1, \"replacement\": 6}");
    }

    @Test
    void replaceOfAWorkerThatIsNotReadyIsA409Problem() {
        given(fleet.replace(2)).willThrow(new FleetExceptions.FleetConflictException(
                "Worker 2 is BACKOFF; only a READY worker can be replaced"));

        assertProblem(mvc.post().uri("/fleet/workers/2/replace"), HttpStatus.CONFLICT, "Not possible now",
                "Worker 2 is BACKOFF; only a READY worker can be replaced");
    }

    @Test
    void replaceWhoseProgramCannotStartIsA500ProblemSayingWhy() {
        given(fleet.replace(2)).willThrow(new FleetExceptions.CannotStartException("The replacement of worker 2 (worker 5)"
                + " cannot start: Cannot run program \"missing\"; worker 2 serves on"));

        assertProblem(mvc.post().uri("/fleet/workers/2/replace"), HttpStatus.INTERNAL_SERVER_ERROR, "Replacement cannot start",
                "The replacement of worker 2 (worker 5) cannot start: Cannot run program \"missing\"; worker 2 serves on");
    }

    @Test
    void replaceOfAnUnknownWorkerIsA404Problem() {
        given(fleet.replace(9)).willThrow(new FleetExceptions.NoSuchWorkerException(9));

        assertProblem(mvc.post().uri("/fleet/workers/9/replace"), HttpStatus.NOT_FOUND, "No such worker",
                "Worker 9 is not in the fleet; GET /fleet (or shepherd ls) lists the current ones, with their ids and indexes (an index is not an id)");
    }

    @Test
    void killWithoutABodySendsTerm() {
        assertThat(mvc.post().uri("/fleet/workers/1/kill")).hasStatus(HttpStatus.ACCEPTED)
                .bodyJson().isStrictlyEqualTo("{\"worker\": 1, \"signal\": \"TERM\"}");
        verify(fleet).kill(1, "TERM");
    }

    @Test
    void killSignalIsCaseInsensitive() {
        assertThat(mvc.post().uri("/fleet/workers/1/kill").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"kill\"}"))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"worker\": 1, \"signal\": \"KILL\"}");
        verify(fleet).kill(1, "KILL");
    }

    /** Found by a new user's attack (2026-12-04): the command line took SIGKILL, the API refused it. */
    @Test
    void killSignalMayBeSpeltWithSigAsTheCommandLineAndTheStopSignalTakeIt() {
        assertThat(mvc.post().uri("/fleet/workers/1/kill").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"SIGKILL\"}"))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"worker\": 1, \"signal\": \"KILL\"}");
        assertThat(mvc.post().uri("/fleet/workers/1/kill").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \" sigterm \"}"))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"worker\": 1, \"signal\": \"TERM\"}");
    }

    @Test
    void killWithAnUnknownSignalIsA400ProblemNamingTheAllowedOnes() {
        assertProblem(mvc.post().uri("/fleet/workers/1/kill").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"WINCH\"}"),
                HttpStatus.BAD_REQUEST, "Invalid request", "signal must be TERM or KILL (any case, with or without SIG), not 'WINCH'");
        assertProblem(mvc.post().uri("/fleet/workers/1/kill").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"HUP\"}"),
                HttpStatus.BAD_REQUEST, "Invalid request", "signal must be TERM or KILL (any case, with or without SIG), "
                        + "not 'HUP'; HUP is not meant to stop a worker: send it with POST /fleet/workers/1/signal "
                        + "(shepherd signal HUP 1)");
        verify(fleet, never()).kill(anyInt(), anyString());
    }

    private static final String SIGNALS_TAKEN = "one of HUP, INT, QUIT, USR1, USR2 (any case, with or without SIG, or "
            + "its number: 1, 2, 3, 10, 12)";

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"signal": "USR2"}       | USR2
            {"signal": "sigusr2"}    | USR2
            {"signal": " SIGHUP "}   | HUP
            {"signal": "quit"}       | QUIT
            {"signal": "INT"}        | INT
            {"signal": "usr1"}       | USR1
            {"signal": "12"}         | USR2
            {"signal": 12}           | USR2
            {"signal": 1}            | HUP
            """)
    void aSignalIsSentToTheWorkerByNameWhateverItsSpelling(String body, String name) {
        assertThat(mvc.post().uri("/fleet/workers/3/signal").contentType(MediaType.APPLICATION_JSON).content(body))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"worker\": 3, \"signal\": \"" + name + "\"}");
        verify(fleet).signal(3, name);
    }

    @Test
    void aSignalToEveryWorkerAnswersTheWorkersItWasSentTo() {
        given(fleet.signalAll("HUP")).willReturn(List.of(1, 2, 4));

        assertThat(mvc.post().uri("/fleet/signal").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"SIGHUP\"}"))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"signal\": \"HUP\", \"workers\": [1, 2, 4]}");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"signal": "WINCH"}     | not 'WINCH'
            {"signal": "SIGFOO"}    | not 'SIGFOO'
            {"signal": "13"}        | not '13'
            {"signal": "TERM"}      | not 'TERM'; TERM stops a worker: that is kill (POST /fleet/workers/{id}/kill, shepherd kill ID --signal TERM)
            {"signal": "sigkill"}   | not 'sigkill'; KILL stops a worker: that is kill (POST /fleet/workers/{id}/kill, shepherd kill ID --signal KILL)
            {"signal": 9}           | not '9'; KILL stops a worker: that is kill (POST /fleet/workers/{id}/kill, shepherd kill ID --signal KILL)
            {"signal": "STOP"}      | not 'STOP'; STOP freezes a worker, which then keeps its slot and its connections, answers nothing, fails its liveness probe and is killed
            {"signal": "SIGTSTP"}   | not 'SIGTSTP'; TSTP freezes a worker, which then keeps its slot and its connections, answers nothing, fails its liveness probe and is killed
            {"signal": "CONT"}      | not 'CONT'; CONT resumes a frozen worker, and no signal sent here freezes one (after its stop signal, the master sends CONT itself)
            {"signal": "USR2\\u001b[2J"} | not 'USR2?[2J'
            """)
    void aSignalNotMeantForAWorkerIsA400ProblemNamingTheOnesTaken(String body, String not) {
        for (String path : List.of("/fleet/workers/3/signal", "/fleet/signal")) {
            MvcTestResult result = mvc.post().uri(path).contentType(MediaType.APPLICATION_JSON).content(body).exchange();
            assertProblem(result, HttpStatus.BAD_REQUEST, "Invalid request", "signal must be " + SIGNALS_TAKEN + ", " + not);
            assertNoInternals(result);
        }
        verify(fleet, never()).signal(anyInt(), anyString());
        verify(fleet, never()).signalAll(anyString());
    }

    @Test
    void aSignalRequestWithoutASignalIsA400SayingWhatToSend() {
        String detail = "give the signal to send, such as {\"signal\": \"USR2\"}: " + SIGNALS_TAKEN;
        assertProblem(mvc.post().uri("/fleet/workers/3/signal"), HttpStatus.BAD_REQUEST, "Invalid request", detail);
        assertProblem(mvc.post().uri("/fleet/signal").contentType(MediaType.APPLICATION_JSON).content("{}"),
                HttpStatus.BAD_REQUEST, "Invalid request", detail);
        assertProblem(mvc.post().uri("/fleet/signal").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \" \"}"),
                HttpStatus.BAD_REQUEST, "Invalid request", detail);
        MvcTestResult wrongType = mvc.post().uri("/fleet/workers/3/signal").contentType(MediaType.APPLICATION_JSON)
                .content("{\"signal\": [\"USR2\"]}").exchange();
        assertThat(wrongType).hasStatus(HttpStatus.BAD_REQUEST).bodyJson().extractingPath("$.detail").asString()
                .endsWith("'signal' must be a string");
        assertProblem(mvc.post().uri("/fleet/workers/3/signal").contentType(MediaType.TEXT_PLAIN).content("USR2"),
                HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type", "A command's body must be JSON: send it "
                        + "with Content-Type: application/json (or send no body where the command takes none)");
        verify(fleet, never()).signal(anyInt(), anyString());
    }

    @Test
    void aSignalToAnUnknownWorkerIsA404AndToOneWithoutAProcessA409() {
        willThrow(new FleetExceptions.NoSuchWorkerException(9)).given(fleet).signal(9, "USR2");
        willThrow(new FleetExceptions.FleetConflictException("Worker 2 has no running process (state BACKOFF)"))
                .given(fleet).signal(2, "USR2");
        given(fleet.signalAll("HUP")).willThrow(new FleetExceptions.FleetConflictException("No worker has a running "
                + "process now"));

        assertProblem(mvc.post().uri("/fleet/workers/9/signal").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"USR2\"}"),
                HttpStatus.NOT_FOUND, "No such worker", "Worker 9 is not in the fleet; GET /fleet (or shepherd ls) lists "
                        + "the current ones, with their ids and indexes (an index is not an id)");
        assertThat(mvc.post().uri("/fleet/workers/2/signal").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"USR2\"}"))
                .hasStatus(HttpStatus.CONFLICT).hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
                .bodyJson().extractingPath("$.detail").isEqualTo("Worker 2 has no running process (state BACKOFF)");
        assertThat(mvc.post().uri("/fleet/signal").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"HUP\"}"))
                .hasStatus(HttpStatus.CONFLICT).bodyJson().extractingPath("$.detail").isEqualTo("No worker has a running process now");
        assertThat(mvc.post().uri("/fleet/workers/x/signal").contentType(MediaType.APPLICATION_JSON).content("{\"signal\": \"HUP\"}"))
                .hasStatus(HttpStatus.BAD_REQUEST);
    }

    @Test
    void killOfAnUnknownWorkerIsA404Problem() {
        willThrow(new FleetExceptions.NoSuchWorkerException(9)).given(fleet).kill(9, "TERM");

        assertProblem(mvc.post().uri("/fleet/workers/9/kill"), HttpStatus.NOT_FOUND, "No such worker",
                "Worker 9 is not in the fleet; GET /fleet (or shepherd ls) lists the current ones, with their ids and indexes (an index is not an id)");
    }

    @Test
    void eventsAreListedAsJson() {
        FleetEvents events = mock(FleetEvents.class);
        given(events.recent()).willReturn(List.of(new FleetEvent(1, NOW, FleetEvent.Type.SPAWNED, 1, 4242, "spawned"),
                new FleetEvent(2, NOW, FleetEvent.Type.READY, 1, 4242, "ready")));
        given(fleet.events()).willReturn(events);

        assertThat(mvc.get().uri("/fleet/events")).hasStatusOk().bodyJson().isLenientlyEqualTo("""
                [{"seq": 1, "type": "SPAWNED", "workerId": 1, "pid": 4242, "message": "spawned", "at": "2025-01-01T12:00:00Z"},
                 {"seq": 2, "type": "READY"}]
                """);
    }

    /** logs -f asks for the events after the last it saw, twice a second: not the 1,000 recent ones each time. */
    @Test
    void eventsAfterASeqAreTheNewerOnesOnly() {
        FleetEvents events = mock(FleetEvents.class);
        given(events.recent()).willReturn(List.of(new FleetEvent(1, NOW, FleetEvent.Type.SPAWNED, 1, 4242, "spawned"),
                new FleetEvent(2, NOW, FleetEvent.Type.READY, 1, 4242, "ready"),
                new FleetEvent(3, NOW, FleetEvent.Type.SPAWNED, 2, 4243, "spawned")));
        given(fleet.events()).willReturn(events);

        assertThat(mvc.get().uri("/fleet/events?after=1")).hasStatusOk().bodyJson().isLenientlyEqualTo("""
                [{"seq": 2, "type": "READY"}, {"seq": 3, "type": "SPAWNED", "workerId": 2}]
                """);
        assertThat(mvc.get().uri("/fleet/events?after=3")).hasStatusOk().bodyJson().isStrictlyEqualTo("[]");
        assertThat(mvc.get().uri("/fleet/events?after=0")).hasStatusOk().bodyJson().extractingPath("$.length()")
                .isEqualTo(3);
        assertProblem(mvc.get().uri("/fleet/events?after=-1"), HttpStatus.BAD_REQUEST, "Invalid request",
                "after must be the seq of an event, 0 or more, not -1");
        assertProblem(mvc.get().uri("/fleet/events?after=0x1"), HttpStatus.BAD_REQUEST, "Invalid request",
                "after must be a decimal number (digits 0-9), not '0x1'");
    }

    @Test
    void aFleetWideEventNamesNoWorkerAndNoProcess() {
        FleetEvents events = mock(FleetEvents.class);
        given(events.recent()).willReturn(List.of(new FleetEvent(3, NOW, FleetEvent.Type.SCALED, 0, 0, "scaled to 3")));
        given(fleet.events()).willReturn(events);

        assertThat(mvc.get().uri("/fleet/events")).hasStatusOk().bodyJson().isStrictlyEqualTo("""
                [{"seq": 3, "at": "2025-01-01T12:00:00Z", "type": "SCALED", "message": "scaled to 3"}]
                """);
    }

    @Test
    void eventsAreStreamedToAnEventStreamClient() throws IOException {
        SseEmitter emitter = new SseEmitter(0L);
        emitter.send(SseEmitter.event().comment("connected"));
        emitter.complete();
        given(eventStream.open(Long.MAX_VALUE)).willReturn(Optional.of(emitter));

        assertThat(mvc.get().uri("/fleet/events").accept(MediaType.TEXT_EVENT_STREAM)).hasStatusOk()
                .hasContentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
                .hasBodyTextEqualTo(":connected\n\n");
    }

    @Test
    void logsGiveTheNewestLinesOfTheWorker() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(new LogBuffer.Line(4100, NOW.minusSeconds(3), "old"));
        buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(2), "middle"));
        buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(1), "new"));
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        assertThat(mvc.get().uri("/fleet/workers/1/logs?lines=2")).hasStatusOk().bodyJson().isStrictlyEqualTo("""
                [{"seq": 2, "pid": 4242, "at": "2025-01-01T11:59:58Z", "line": "middle", "stream": "stdout", "streamSeq": 2},
                 {"seq": 3, "pid": 4242, "at": "2025-01-01T11:59:59Z", "line": "new", "stream": "stdout", "streamSeq": 3}]
                """);
    }

    @Test
    void logsAfterALineGiveTheFirstLinesAfterIt() {
        LogBuffer buffer = new LogBuffer(10);
        for (int i = 1; i <= 5; i++) {
            buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(10 - i), "line " + i));
        }
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        assertThat(mvc.get().uri("/fleet/workers/1/logs?after=2&lines=2")).hasStatusOk().bodyJson().isStrictlyEqualTo("""
                [{"seq": 3, "pid": 4242, "at": "2025-01-01T11:59:53Z", "line": "line 3", "stream": "stdout", "streamSeq": 3},
                 {"seq": 4, "pid": 4242, "at": "2025-01-01T11:59:54Z", "line": "line 4", "stream": "stdout", "streamSeq": 4}]
                """);
        assertThat(mvc.get().uri("/fleet/workers/1/logs?after=5")).hasStatusOk().bodyJson().isStrictlyEqualTo("[]");
    }

    /** As journald and kubectl mark what they leave out: a follower learns how many lines it never saw. */
    @Test
    void logsAfterALineAlreadyDroppedBeginWithAMarkerOfHowManyWereMissed() {
        LogBuffer buffer = new LogBuffer(2);
        for (int i = 1; i <= 6; i++) {
            buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(10 - i), "line " + i));
        }
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        assertThat(mvc.get().uri("/fleet/workers/1/logs?after=1")).hasStatusOk().bodyJson().isStrictlyEqualTo("""
                [{"seq": 4, "missed": 3},
                 {"seq": 5, "pid": 4242, "at": "2025-01-01T11:59:55Z", "line": "line 5", "stream": "stdout", "streamSeq": 5},
                 {"seq": 6, "pid": 4242, "at": "2025-01-01T11:59:56Z", "line": "line 6", "stream": "stdout", "streamSeq": 6}]
                """);
    }

    /**
     * A new user's logs -f said "(it keeps fleet.worker.log-lines)" of lines that were all in worker-0-out.log: with
     * a log directory, the marker names the files the lines dropped were written to.
     */
    @Test
    void theMarkerOfLinesDroppedNamesTheFilesTheyWereWrittenTo(@TempDir Path directory) {
        LogBuffer buffer = new LogBuffer(2, 1 << 20, new LogAllowance(), LogFiles.of(directory, 3, 1 << 20, 2));
        for (int i = 1; i <= 4; i++) {
            buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(10 - i), "line " + i,
                    i % 2 == 0 ? LogBuffer.Stream.STDERR : LogBuffer.Stream.STDOUT));
        }
        given(fleet.logs(1)).willReturn(Optional.of(buffer));
        String out = directory.toAbsolutePath().resolve("worker-3-out.log").toString();
        String err = directory.toAbsolutePath().resolve("worker-3-err.log").toString();

        assertThat(mvc.get().uri("/fleet/workers/1/logs?after=0&lines=1")).hasStatusOk().bodyJson()
                .extractingPath("$[0]").isEqualTo(java.util.Map.of("seq", 2, "missed", 2, "files", List.of(out, err)));
        assertThat(mvc.get().uri("/fleet/workers/1/logs?stream=stderr&streamAfter=0")).hasStatusOk().bodyJson()
                .extractingPath("$[0]").isEqualTo(java.util.Map.of("stream", "stderr", "streamSeq", 1, "missed", 1,
                        "files", List.of(err)));
    }

    /** PM2's logs --err: a worker's stderr alone, the newest lines or those after a line. */
    @Test
    void logsOfOneStreamGiveThatStreamsLinesOnly() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(3), "listening", LogBuffer.Stream.STDOUT));
        buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(2), "Error: boom", LogBuffer.Stream.STDERR));
        buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(1), "GET / 200", LogBuffer.Stream.STDOUT));
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        assertThat(mvc.get().uri("/fleet/workers/1/logs?stream=stderr")).hasStatusOk().bodyJson().isStrictlyEqualTo("""
                [{"seq": 2, "pid": 4242, "at": "2025-01-01T11:59:58Z", "line": "Error: boom", "stream": "stderr", "streamSeq": 1}]
                """);
        assertThat(mvc.get().uri("/fleet/workers/1/logs?stream=stdout&after=1")).hasStatusOk().bodyJson().isStrictlyEqualTo("""
                [{"seq": 3, "pid": 4242, "at": "2025-01-01T11:59:59Z", "line": "GET / 200", "stream": "stdout", "streamSeq": 2}]
                """);
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?stream=err"), HttpStatus.BAD_REQUEST, "Invalid request",
                "stream must be stdout or stderr, not 'err'");
    }

    /**
     * logs -f --err said "-- 2 lines of stdout and stderr missed --": which stream a dropped line came from is not
     * kept, so after=SEQ counts both. By a stream's own numbers (streamAfter), the marker counts that stream's lines.
     */
    @Test
    void logsAfterALineOfOneStreamCountTheLinesOfThatStreamMissed() {
        LogBuffer buffer = new LogBuffer(3);
        for (int i = 1; i <= 4; i++) {
            buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(20 - 2 * i), "out " + i, LogBuffer.Stream.STDOUT));
            if (i < 4) {
                buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(19 - 2 * i), "err " + i, LogBuffer.Stream.STDERR));
            }
        }
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        // Held: out 3 (seq 5), err 3 (seq 6), out 4 (seq 7); err 1 (seq 2, stderr's 1) was read last.
        assertThat(mvc.get().uri("/fleet/workers/1/logs?stream=stderr&streamAfter=1")).hasStatusOk().bodyJson()
                .isStrictlyEqualTo("""
                        [{"stream": "stderr", "streamSeq": 2, "missed": 1},
                         {"seq": 6, "pid": 4242, "at": "2025-01-01T11:59:47Z", "line": "err 3", "stream": "stderr", "streamSeq": 3}]
                        """);
        assertThat(mvc.get().uri("/fleet/workers/1/logs?stream=stderr&after=2")).as("after counts both streams")
                .hasStatusOk().bodyJson().isStrictlyEqualTo("""
                        [{"seq": 4, "missed": 2},
                         {"seq": 6, "pid": 4242, "at": "2025-01-01T11:59:47Z", "line": "err 3", "stream": "stderr", "streamSeq": 3}]
                        """);
        assertThat(mvc.get().uri("/fleet/workers/1/logs?stream=stdout&streamAfter=3&lines=1")).hasStatusOk()
                .bodyJson().isStrictlyEqualTo("""
                        [{"seq": 7, "pid": 4242, "at": "2025-01-01T11:59:48Z", "line": "out 4", "stream": "stdout", "streamSeq": 4}]
                        """);
        assertThat(mvc.get().uri("/fleet/workers/1/logs?stream=stderr&streamAfter=3")).hasStatusOk().bodyJson()
                .isStrictlyEqualTo("[]");
    }

    @Test
    void aStreamAfterWithoutItsStreamOrPastItsNewestLineIsA400Problem() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(new LogBuffer.Line(4242, NOW, "only", LogBuffer.Stream.STDERR));
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        assertProblem(mvc.get().uri("/fleet/workers/1/logs?streamAfter=0"), HttpStatus.BAD_REQUEST, "Invalid request",
                "streamAfter counts the lines of one stream: give stream=stdout or stream=stderr with it (or after=SEQ, "
                        + "which counts both)");
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?stream=stderr&streamAfter=0&after=0"),
                HttpStatus.BAD_REQUEST, "Invalid request", "give after or streamAfter, not both: after is a seq, of "
                        + "the lines of both streams, streamAfter a streamSeq, of the lines of stderr");
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?stream=stdout&streamAfter=1"), HttpStatus.BAD_REQUEST,
                "Invalid request", "streamAfter must be the streamSeq of a stdout line of worker 1, 0 to 0 (its "
                        + "newest), not 1");
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?stream=stderr&streamAfter=0x1"), HttpStatus.BAD_REQUEST,
                "Invalid request", "streamAfter must be a decimal number (digits 0-9), not '0x1'");
    }

    @Test
    void logsAfterNoLineOfTheWorkerIsA400Problem() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(new LogBuffer.Line(4242, NOW, "only"));
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        assertProblem(mvc.get().uri("/fleet/workers/1/logs?after=2"), HttpStatus.BAD_REQUEST, "Invalid request",
                "after must be the seq of a line of worker 1, 0 to 1 (its newest), not 2");
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?after=-1"), HttpStatus.BAD_REQUEST, "Invalid request",
                "after must be the seq of a line of worker 1, 0 to 1 (its newest), not -1");
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?after=x1"), HttpStatus.BAD_REQUEST, "Invalid request",
                "after must be a decimal number (digits 0-9), not 'x1'");
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?after=99999999999999999999"), HttpStatus.BAD_REQUEST,
                "Invalid request", "after is out of range: '99999999999999999999'");
    }

    @Test
    void logLinesBelowOneIsA400Problem() {
        given(fleet.logs(1)).willReturn(Optional.of(new LogBuffer(10)));

        assertProblem(mvc.get().uri("/fleet/workers/1/logs?lines=0"), HttpStatus.BAD_REQUEST, "Invalid request",
                "lines must be at least 1, not 0");
    }

    @Test
    void moreLogLinesThanTheMasterKeepsGivesAllItKeeps() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(new LogBuffer.Line(4100, NOW.minusSeconds(2), "old"));
        buffer.add(new LogBuffer.Line(4242, NOW.minusSeconds(1), "new"));
        given(fleet.logs(1)).willReturn(Optional.of(buffer));

        assertThat(mvc.get().uri("/fleet/workers/1/logs?lines=99999999999")).as("beyond an int too").hasStatusOk();
        assertThat(mvc.get().uri("/fleet/workers/1/logs?lines=5000")).hasStatusOk().bodyJson().isStrictlyEqualTo("""
                [{"seq": 1, "pid": 4100, "at": "2025-01-01T11:59:58Z", "line": "old", "stream": "stdout", "streamSeq": 1},
                 {"seq": 2, "pid": 4242, "at": "2025-01-01T11:59:59Z", "line": "new", "stream": "stdout", "streamSeq": 2}]
                """);
    }

    @Test
    void logLinesThatIsNoNumberIsA400Problem() {
        assertProblem(mvc.get().uri("/fleet/workers/1/logs?lines=many"), HttpStatus.BAD_REQUEST, "Invalid request",
                "lines must be a decimal number (digits 0-9), not 'many'");
    }

    @Test
    void logsOfAnUnknownWorkerIsA404Problem() {
        assertProblem(mvc.get().uri("/fleet/workers/9/logs"), HttpStatus.NOT_FOUND, "No such worker",
                "Worker 9 is not in the fleet; GET /fleet (or shepherd ls) lists the current ones, with their ids and indexes (an index is not an id)");
    }

    @Test
    void wrongMethodIsA405Problem() {
        assertProblem(mvc.get().uri("/fleet/scale"), HttpStatus.METHOD_NOT_ALLOWED, "Method Not Allowed",
                "The method 'GET' is not supported here; the Allow header lists those that are");
        assertThat(mvc.delete().uri("/fleet")).hasStatus(HttpStatus.METHOD_NOT_ALLOWED).headers()
                .hasValue("Allow", "GET");
    }

    @Test
    void unknownPathUnderFleetIsA404Problem() {
        assertProblem(mvc.get().uri("/fleet/nope"), HttpStatus.NOT_FOUND, "Not Found", "Nothing is at '/fleet/nope' "
                + "on the admin port: the admin API is /fleet and the paths under it (listed in /v3/api-docs), "
                + "Actuator is /actuator, the fleet page is /");
    }

    @Test
    void scaleAndKillTakeJsonByAnotherName() {
        given(fleet.scale(5)).willReturn(2);

        assertThat(mvc.post().uri("/fleet/scale").contentType("application/vnd.shepherd+json").content("{\"workers\": 5}"))
                .hasStatus(HttpStatus.ACCEPTED).bodyJson().isStrictlyEqualTo("{\"desired\": 5, \"previous\": 2}");
        verify(fleet).scale(5);
        assertThat(mvc.post().uri("/fleet/workers/1/kill").contentType("application/merge-patch+json")
                .content("{\"signal\": \"KILL\"}")).hasStatus(HttpStatus.ACCEPTED);
    }

    @Test
    void unknownPathUnderAResourceRootIsA404ProblemNamingTheWholePath() {
        assertProblem(mvc.get().uri("/webjars/"), HttpStatus.NOT_FOUND, "Not Found", "Nothing is at '/webjars/' "
                + "on the admin port: the admin API is /fleet and the paths under it (listed in /v3/api-docs), "
                + "Actuator is /actuator, the fleet page is /");
    }

    @Test
    void scaleWithAnotherMediaTypeIsA415Problem() {
        assertProblem(mvc.post().uri("/fleet/scale").contentType(MediaType.TEXT_PLAIN).content("workers=3"),
                HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type", null);
        assertProblem(mvc.post().uri("/fleet/scale").content("{\"workers\": 3}"),
                HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type", null);
    }

    static SocketOwners socketOwners() {
        return FakeSocketTables.mastersUser();
    }

    private void assertProblem(MockMvcTester.MockMvcRequestBuilder request, HttpStatus status, String title, String detail) {
        assertProblem(request.exchange(), status, title, detail);
    }

    /** Nothing of Jackson, Java or Spring: no class, package or method name. */
    private static void assertNoInternals(MvcTestResult result) {
        assertThat(result).bodyText().doesNotContain("tools.jackson", "com.fasterxml", "java.", "dev.shepherd",
                "ScaleRequest", "KillRequest", "SignalRequest", "FleetController", "$", "Exception", "Integer");
    }

    /** A problem-details body with that status, title and (unless null) detail, and no stack trace. */
    private static void assertProblem(MvcTestResult result, HttpStatus status, String title, String detail) {
        assertThat(result).hasStatus(status).hasContentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.status").isEqualTo(status.value());
        assertThat(result).bodyJson().extractingPath("$.title").isEqualTo(title);
        if (detail != null) {
            assertThat(result).bodyJson().extractingPath("$.detail").isEqualTo(detail);
        }
        assertThat(result).bodyJson().doesNotHavePath("$.trace");
        assertThat(result).bodyText().doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("dev.shepherd.");
    }
}
