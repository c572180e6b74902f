package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.MissingNode;

import static org.assertj.core.api.Assertions.assertThat;

class FleetTableTests {

    private static JsonNode json(String text) {
        return Json.MAPPER.readTree(text);
    }

    @Test
    void rowsAreAlignedUnderTheHeaderWithDashesWhereTheApiHasNoValue() {
        JsonNode fleet = json("""
                {"desired": 2, "workers": [
                  {"id": 1, "index": 0, "pid": 4242, "state": "READY", "restarts": 0, "uptimeMillis": 192000,
                   "inFlight": 3, "requests": 1500, "memoryBytes": 50659328, "cpuTimeMillis": 23040, "lastExit": null},
                  {"id": 12, "index": 1, "pid": 0, "state": "RESTARTING", "restarts": 11, "uptimeMillis": null,
                   "inFlight": 0, "requests": 7, "memoryBytes": null,
                   "lastExit": {"pid": 99, "code": 137, "signal": "KILL", "reason": "killed by the admin API"}}]}
                """);

        assertThat(FleetTable.render(fleet)).isEqualTo("""
                ID  INDEX  PID   STATE       UPTIME  RESTARTS  IN FLIGHT  REQUESTS  MEMORY    CPU  LAST EXIT
                1   0      4242  READY       3m12s   0         3          1500      48.3 MiB  12%  -
                12  1      -     RESTARTING  -       11        0          7         -         -    KILL: killed by the admin API
                """);
    }

    /** A BACKOFF row did not say when the worker starts again (found by a new user). */
    @Test
    void aWorkerWhoseRestartIsDueSaysWhenRoundedUp() {
        JsonNode fleet = json("""
                {"workers": [{"id": 3, "index": 0, "pid": 0, "state": "BACKOFF", "restarts": 2, "restartInMillis": 3200},
                  {"id": 4, "index": 1, "pid": 0, "state": "FAILED", "restarts": 9, "restartInMillis": 0},
                  {"id": 5, "index": 2, "pid": 0, "state": "EXITED", "restarts": 0, "restartInMillis": null}]}
                """);

        assertThat(FleetTable.render(fleet)).contains("  BACKOFF (restarts in 4s)  ", "  FAILED (restarts in 0s)   ",
                "  EXITED                    ");
    }

    /** A worker that gets a new connection per request for sending bytes nobody asked for says so. */
    @Test
    void aWorkerOutOfStepSaysSo() {
        JsonNode fleet = json("""
                {"workers": [{"id": 3, "index": 0, "pid": 10, "state": "READY", "outOfStep": true},
                  {"id": 4, "index": 1, "pid": 11, "state": "READY", "outOfStep": false}]}
                """);

        assertThat(FleetTable.render(fleet)).contains("  READY (out of step)  ", "  READY                ");
    }

    /** A new user missed PM2's cpu column: the CPU time over the uptime, as ps's %CPU. */
    @Test
    void theCpuColumnIsTheCpuTimeOverTheUptime() {
        assertThat(FleetTable.cpu(json("250"), json("1000"))).isEqualTo("25%");
        assertThat(FleetTable.cpu(json("180000"), json("60000"))).as("three cores").isEqualTo("300%");
        assertThat(FleetTable.cpu(json("10"), json("999"))).as("before its first second").isEqualTo("-");
        assertThat(FleetTable.cpu(json("null"), json("60000"))).isEqualTo("-");
        assertThat(FleetTable.cpu(MissingNode.getInstance(), MissingNode.getInstance())).isEqualTo("-");
    }

    @Test
    void aFleetWithoutWorkersIsTheHeaderAlone() {
        assertThat(FleetTable.render(json("{\"workers\": []}"))).isEqualTo(String.join("  ", FleetTable.HEADER) + "\n");
    }

    @Test
    void uptimeUsesTheTwoLargestUnits() {
        assertThat(FleetTable.uptime(json("59999"))).isEqualTo("59s");
        assertThat(FleetTable.uptime(json("60000"))).isEqualTo("1m00s");
        assertThat(FleetTable.uptime(json("7500000"))).isEqualTo("2h05m");
        assertThat(FleetTable.uptime(json("277200000"))).isEqualTo("3d05h");
        assertThat(FleetTable.uptime(MissingNode.getInstance())).isEqualTo("-");
    }

    @Test
    void memoryInBinaryUnits() {
        assertThat(FleetTable.memory(json("512"))).isEqualTo("512 B");
        assertThat(FleetTable.memory(json("1536"))).isEqualTo("1.5 KiB");
        assertThat(FleetTable.memory(json("1288490189"))).isEqualTo("1.2 GiB");
    }

    @Test
    void aProcessThatNeverStartedShowsItsReasonWithoutAnExitCode() {
        assertThat(FleetTable.lastExit(json("{\"pid\": 0, \"code\": -1, \"signal\": null, \"reason\": "
                + "\"cannot start: Cannot run program \\\"/nonexistent/app\\\"\"}")))
                .isEqualTo("cannot start: Cannot run program \"/nonexistent/app\"");
        assertThat(FleetTable.lastExit(json("{\"pid\": 7, \"code\": -1, \"signal\": null, \"reason\": \"crashed\"}")))
                .isEqualTo("exit -1: crashed");
    }

    @Test
    void lastExitShowsCodeWithoutSignalAndCutsLongReasonsToOneLine() {
        String reason = "line one\nline two " + "x".repeat(100);

        String shown = FleetTable.lastExit(json("{\"code\": 3, \"signal\": null, \"reason\": " + Json.MAPPER.writeValueAsString(reason) + "}"));

        assertThat(shown).startsWith("exit 3: line one line two x").endsWith("…")
                .hasSize("exit 3: ".length() + FleetTable.REASON_LIMIT + 1);
    }
}
