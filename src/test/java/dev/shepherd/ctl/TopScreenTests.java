package dev.shepherd.ctl;

import org.jline.terminal.Size;
import org.jline.utils.AttributedString;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The frames of {@code shepherd top}, without a terminal or a master. */
class TopScreenTests {

    private static final Instant NOW = Instant.parse("2026-11-30T22:40:01Z");
    private static final long SECOND = 1_000_000_000L;

    private static JsonNode fleet(long requests, long failures) {
        return Json.MAPPER.readTree("{\"desired\":2,\"ready\":1,\"actual\":2,"
                + "\"reload\":{\"state\":\"RUNNING\",\"generation\":3,\"total\":2,\"replaced\":1},"
                + "\"traffic\":{\"requests\":" + requests + ",\"failures\":" + failures + "},"
                + "\"workers\":[{\"id\":7,\"index\":0,\"pid\":4242,\"state\":\"READY\",\"uptimeMillis\":61000,\"restarts\":0,"
                + "\"inFlight\":1,\"requests\":10,\"memoryBytes\":1048576}]}");
    }

    @Test
    void frameHasHealthCountsReloadAndTheTableOfLs() {
        TopScreen screen = new TopScreen("http://127.0.0.1:8081", true);

        List<String> frame = screen.frame(fleet(100, 0), Json.MAPPER.readTree("{\"status\":\"DEGRADED\"}"), NOW, 0);

        assertThat(frame.subList(0, 4)).containsExactly("shepherd top  ·  http://127.0.0.1:8081  ·  22:40:01 UTC  ·  q quits",
                "health DEGRADED  ·  workers 1 ready of 2 desired, 2 running",
                "reload reload to generation 3 running: 1 of 2 workers replaced", "");
        assertThat(frame.subList(4, frame.size())).isEqualTo(FleetTable.render(fleet(100, 0)).lines().toList());
    }

    @Test
    void requestRateIsSinceThePreviousFrame() {
        TopScreen screen = new TopScreen("http://a", true);
        screen.frame(fleet(100, 1), null, NOW, 0);

        List<String> frame = screen.frame(fleet(150, 3), null, NOW, 2 * SECOND);

        assertThat(frame.get(1)).isEqualTo("health ?  ·  workers 1 ready of 2 desired, 2 running  ·  25.0 requests/s, 1.0 failures/s");
    }

    @Test
    void unreachableMasterKeepsTheTableLastSeen() {
        TopScreen screen = new TopScreen("http://a", false);
        List<String> seen = screen.frame(fleet(1, 0), null, NOW, 0);

        List<String> frame = screen.unreachable("cannot reach the admin API at http://a", NOW);

        assertThat(frame.get(0)).isEqualTo("shepherd top  ·  http://a  ·  22:40:01 UTC");
        assertThat(frame.get(1)).isEqualTo("master unreachable, retrying: cannot reach the admin API at http://a");
        assertThat(frame.subList(4, frame.size())).isEqualTo(seen.subList(4, seen.size()));
    }

    @Test
    void styledFrameIsCutToTheTerminal() {
        List<AttributedString> lines = TopView.styled(List.of("0123456789", "abc", "more", "rows"), new Size(4, 3));

        assertThat(lines).extracting(AttributedString::toString).containsExactly("0123", "abc");
    }
}
