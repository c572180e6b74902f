package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code status}'s health line: the last crash says which process ended, how, when and why; and its exit code. */
class StatusCommandTests {

    private static final JsonMapper JSON = Json.MAPPER;

    private static String lastCrash(String crash) {
        return StatusCommand.lastCrash(JSON.readTree("{\"status\":\"UP\",\"components\":{\"fleet\":{\"details\":"
                + (crash == null ? "{}" : "{\"lastCrash\":" + crash + "}") + "}}}"));
    }

    /** Found by an attacking helper (2026-12-04): it read "(last crash: crashed)", the reason alone. */
    @Test
    void aCrashNamesItsProcessExitTimeAndReason() {
        assertThat(lastCrash("{\"pid\":4242,\"code\":143,\"signal\":\"TERM\",\"at\":\"2026-12-04T16:00:01Z\","
                + "\"reason\":\"crashed\"}"))
                .isEqualTo(" (last crash: pid 4242 exited with code 143 (signal TERM) at 2026-12-04T16:00:01Z: crashed)");
        assertThat(lastCrash("{\"pid\":7,\"code\":3,\"at\":\"2026-12-04T16:00:01Z\",\"reason\":\"crashed\"}"))
                .isEqualTo(" (last crash: pid 7 exited with code 3 at 2026-12-04T16:00:01Z: crashed)");
    }

    /** Its error line, on a line of its own: what a new user looked for in {@code shepherd logs} (2026-12-06). */
    @Test
    void aCrashWithAnErrorLineSaysItUnderTheHealth() {
        assertThat(lastCrash("{\"worker\":3,\"pid\":7,\"code\":1,\"at\":\"2026-12-04T16:00:01Z\",\"reason\":\"crashed\","
                + "\"errorLine\":\"Error: Cannot find module 'pg' \\u001b[2J\"}"))
                .isEqualTo(" (last crash: worker 3, pid 7 exited with code 1 at 2026-12-04T16:00:01Z: crashed)"
                        + System.lineSeparator() + "         error: Error: Cannot find module 'pg' ^[[2J");
    }

    @Test
    void aProgramThatCouldNotStartHasItsReasonOnlyAndNoCrashNothing() {
        assertThat(lastCrash("{\"pid\":0,\"code\":-1,\"at\":\"2026-12-04T16:00:01Z\","
                + "\"reason\":\"cannot start: Cannot run program \\\"nope\\\"\"}"))
                .isEqualTo(" (last crash: cannot start: Cannot run program \"nope\")");
        assertThat(lastCrash(null)).isEmpty();
    }

    /**
     * Found by a new user: status said {@code health DOWN} for the minute of a startup timeout while only the
     * master's log said the readiness probe got 404. Each STARTING worker with a failed probe says what it saw; not
     * one that is READY, nor one with nothing to say; past three, how many more.
     */
    @Test
    void startingWorkersSayWhatTheirReadinessProbeSaw() {
        String worker = "{\"id\":%d,\"state\":\"%s\",\"reason\":%s}";
        JsonNode fleet = Json.MAPPER.readTree("{\"workers\":[" + String.join(",",
                worker.formatted(1, "STARTING", "\"readiness probe: GET /health answered 404\\u001b[2J\""),
                worker.formatted(2, "READY", "null"), worker.formatted(3, "STARTING", "null"),
                worker.formatted(4, "STARTING", "\"x\""), worker.formatted(5, "STARTING", "\"x\""),
                worker.formatted(6, "STARTING", "\"x\""), worker.formatted(7, "STARTING", "\"x\"")) + "]}");
        assertThat(StatusCommand.notReady(fleet)).containsExactly(
                "starting worker 1: readiness probe: GET /health answered 404^[[2J", "starting worker 4: x",
                "starting worker 5: x", "starting 2 more workers not READY yet (shepherd ls --json)");
    }

    /** Found by a new user: a worker killed for not getting READY in time was told as the last crash. */
    @Test
    void aStartupTimeoutIsNotCalledACrash() {
        assertThat(lastCrash("{\"worker\":2,\"cause\":\"startup-timeout\",\"pid\":7,\"code\":137,\"signal\":\"KILL\","
                + "\"at\":\"2026-12-04T16:00:01Z\",\"reason\":\"not READY within 60000 ms\"}"))
                .isEqualTo(" (last startup timeout: worker 2, pid 7 exited with code 137 (signal KILL) at "
                        + "2026-12-04T16:00:01Z: not READY within 60000 ms)");
        assertThat(lastCrash("{\"worker\":2,\"cause\":\"crash\",\"pid\":7,\"code\":1,"
                + "\"at\":\"2026-12-04T16:00:01Z\",\"reason\":\"crashed\"}")).startsWith(" (last crash: worker 2, pid 7");
        assertThat(lastCrash("{\"worker\":2,\"cause\":\"liveness\",\"pid\":7,\"code\":137,"
                + "\"at\":\"2026-12-04T16:00:01Z\",\"reason\":\"liveness probe failed\"}"))
                .startsWith(" (last liveness failure: worker 2, pid 7");
        assertThat(lastCrash("{\"worker\":2,\"cause\":\"crash\",\"pid\":7,\"code\":1,"
                + "\"at\":\"2026-12-07T05:34:19.641467323Z\",\"reason\":\"crashed\"}")).as("milliseconds are enough")
                .contains(" at 2026-12-07T05:34:19.641Z: crashed");
        assertThat(lastCrash("{\"worker\":2,\"cause\":\"memory\",\"pid\":7,\"code\":143,"
                + "\"at\":\"2026-12-04T16:00:01Z\",\"reason\":\"memory\"}")).startsWith(" (last memory limit: worker 2");
        assertThat(lastCrash("{\"worker\":2,\"cause\":\"signal\",\"pid\":7,\"code\":140,\"signal\":\"USR2\","
                + "\"at\":\"2026-12-04T16:00:01Z\",\"reason\":\"ended by USR2, sent on request 5 ms before\"}"))
                .isEqualTo(" (last exit by a signal sent: worker 2, pid 7 exited with code 140 (signal USR2) at "
                        + "2026-12-04T16:00:01Z: ended by USR2, sent on request 5 ms before)");
    }

    /**
     * A fleet whose health is DOWN exits {@value Ctl#DOWN}, in text and in JSON, so that a script can tell without
     * parsing (it exited 0, found by a new user); UP and DEGRADED exit 0. The actuator answers DOWN with 503.
     */
    @Test
    void aFleetThatIsDownExitsFourAndOneThatServesZero() throws IOException {
        for (String health : new String[] {"UP", "DEGRADED", "DOWN"}) {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/fleet", exchange -> CtlTests.answer(exchange, 200,
                    "{\"desired\":2,\"ready\":0,\"actual\":0,\"reload\":{\"state\":\"IDLE\",\"generation\":1}}"));
            server.createContext("/actuator/health", exchange -> CtlTests.answer(exchange, health.equals("DOWN") ? 503 : 200,
                    "{\"status\":\"" + health + "\"}"));
            server.start();
            try {
                Map<String, String> env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + server.getAddress().getPort());
                int expected = health.equals("DOWN") ? Ctl.DOWN : Ctl.OK;

                CtlTests.Result text = CtlTests.run(env, "status");
                CtlTests.Result json = CtlTests.run(env, "status", "--json");

                assertThat(text.code()).as(health + ": " + text.err()).isEqualTo(expected);
                assertThat(text.out()).startsWith("health   " + health);
                assertThat(json.code()).as(health + " --json: " + json.err()).isEqualTo(expected);
            } finally {
                server.stop(0);
            }
        }
    }

    /**
     * A new user's {@code status} without the token failed (exit 1) although the health is public: the health's
     * status alone, a note that the rest needs the token, and the exit code of that health. A wrong token is still
     * refused.
     */
    @Test
    void withoutTheTokenTheHealthAloneIsShownWithItsExitCode() throws IOException {
        for (String health : new String[] {"UP", "DOWN"}) {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/fleet", exchange -> CtlTests.answer(exchange, 401,
                    "{\"title\":\"Unauthorized\",\"status\":401}"));
            // As the master answers without the token: the status alone.
            server.createContext("/actuator/health", exchange -> CtlTests.answer(exchange,
                    health.equals("DOWN") ? 503 : 200, "{\"status\":\"" + health + "\"}"));
            server.start();
            try {
                String url = "http://127.0.0.1:" + server.getAddress().getPort();
                int expected = health.equals("DOWN") ? Ctl.DOWN : Ctl.OK;

                CtlTests.Result text = CtlTests.run(Map.of("SHEPHERD_ADMIN_URL", url), "status");
                CtlTests.Result json = CtlTests.run(Map.of("SHEPHERD_ADMIN_URL", url), "status", "--json");
                CtlTests.Result wrong = CtlTests.run(Map.of("SHEPHERD_ADMIN_URL", url, "SHEPHERD_ADMIN_TOKEN", "wrong"),
                        "status");

                assertThat(text.code()).as(health + ": " + text.err()).isEqualTo(expected);
                assertThat(text.out()).isEqualTo("health   " + health + "\n");
                assertThat(text.err()).isEqualTo("the workers, the last crash and the latest reload need the admin "
                        + "token: set --token, SHEPHERD_ADMIN_TOKEN or SHEPHERD_ADMIN_TOKEN_FILE\n");
                assertThat(json.code()).isEqualTo(expected);
                assertThat(JSON.readTree(json.out()).path("health").path("status").asString()).isEqualTo(health);
                assertThat(JSON.readTree(json.out()).path("fleet").isNull()).isTrue();
                assertThat(wrong.code()).isEqualTo(Ctl.FAILED);
                assertThat(wrong.err()).startsWith("the admin API refused the token");
                assertThat(wrong.out()).isEmpty();
            } finally {
                server.stop(0);
            }
        }
    }
}
