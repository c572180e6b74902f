package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code status}'s health line: the last crash says which process ended, how, when and why. */
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

    @Test
    void aProgramThatCouldNotStartHasItsReasonOnlyAndNoCrashNothing() {
        assertThat(lastCrash("{\"pid\":0,\"code\":-1,\"at\":\"2026-12-04T16:00:01Z\","
                + "\"reason\":\"cannot start: Cannot run program \\\"nope\\\"\"}"))
                .isEqualTo(" (last crash: cannot start: Cannot run program \"nope\")");
        assertThat(lastCrash(null)).isEmpty();
    }
}
