package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(OutputCaptureExtension.class)
class FleetEventsTests {

    private static final Instant NOW = Instant.parse("2025-01-01T00:00:00Z");

    private final FleetEvents events = new FleetEvents(3, Clock.fixed(NOW, ZoneOffset.UTC));

    @Test
    void eventsAreNumberedAndTimedNewestLast() {
        events.add(FleetEvent.Type.SPAWNED, 1, 100, "spawned");
        events.add(FleetEvent.Type.READY, 1, 100, "ready");
        events.publish();

        assertThat(events.recent()).containsExactly(
                new FleetEvent(1, NOW, FleetEvent.Type.SPAWNED, 1, 100, "spawned"),
                new FleetEvent(2, NOW, FleetEvent.Type.READY, 1, 100, "ready"));
    }

    @Test
    void onlyTheNewestEventsAreKept() {
        for (int i = 1; i <= 5; i++) {
            events.add(FleetEvent.Type.SCALED, 0, 0, "event " + i);
        }
        events.publish();

        assertThat(events.recent()).extracting(FleetEvent::seq).containsExactly(3L, 4L, 5L);
    }

    @Test
    void subscribersGetEveryNewEventUntilTheyUnsubscribe() {
        List<FleetEvent> seen = new ArrayList<>();
        Consumer<FleetEvent> listener = seen::add;
        events.subscribe(listener);

        events.add(FleetEvent.Type.PROCESS_EXITED, 2, 200, "exited");
        events.publish();
        events.unsubscribe(listener);
        events.add(FleetEvent.Type.RESTARTING, 2, 0, "restarting");
        events.publish();

        assertThat(seen).extracting(FleetEvent::type).containsExactly(FleetEvent.Type.PROCESS_EXITED);
    }

    @Test
    void recordedEventsAreSeenOnlyWhenPublishedThenInOrder() {
        List<FleetEvent> seen = new ArrayList<>();
        events.subscribe(seen::add);

        events.add(FleetEvent.Type.DRAINING, 1, 100, "draining");
        events.add(FleetEvent.Type.RELOAD_SUCCEEDED, 0, 0, "finished");

        assertThat(events.recent()).isEmpty();
        assertThat(seen).isEmpty();

        events.publish();
        events.publish();

        assertThat(events.recent()).extracting(FleetEvent::seq).containsExactly(1L, 2L);
        assertThat(seen).extracting(FleetEvent::type).containsExactly(FleetEvent.Type.DRAINING, FleetEvent.Type.RELOAD_SUCCEEDED);
    }

    /** A reload naming 31 variables of 32 KiB each made 1 MB events; a thousand of them took the master's heap. */
    @Test
    void aMessageIsKeptUpToItsLimit() {
        events.add(FleetEvent.Type.RELOAD_STARTED, 0, 0, "x".repeat(FleetEvents.MESSAGE_LIMIT));
        events.add(FleetEvent.Type.RELOAD_STARTED, 0, 0, "y".repeat(1_000_000));
        events.publish();

        assertThat(events.recent().get(0).message()).hasSize(FleetEvents.MESSAGE_LIMIT);
        assertThat(events.recent().get(1).message()).startsWith("y".repeat(FleetEvents.MESSAGE_LIMIT) + "…")
                .endsWith("… (997952 more characters)");
    }

    @Test
    void aCutNeverSplitsASurrogatePair() {
        String emojiAtTheLimit = "B".repeat(FleetEvents.MESSAGE_LIMIT - 1) + "\uD83D\uDE00" + "tail";

        events.add(FleetEvent.Type.RELOAD_STARTED, 0, 0, emojiAtTheLimit);
        events.publish();

        assertThat(events.recent().get(0).message()).startsWith("B".repeat(FleetEvents.MESSAGE_LIMIT - 1) + "…");
        assertThat(FleetEvents.cut("ab\uD83D\uDE00", 3)).isEqualTo("ab");
        assertThat(FleetEvents.cut("ab\uD83D\uDE00", 4)).isEqualTo("ab\uD83D\uDE00");
    }

    /** An operator who reads only the log learns of a KILL, a crash loop, a failed probe, a scale and a removal. */
    @Test
    void theEventsNoOtherLineTellsAreLoggedWithTheirType(CapturedOutput output) {
        events.add(FleetEvent.Type.KILL_TIMEOUT, 3, 4242, "worker 3 outlived the kill timeout; KILL");
        events.add(FleetEvent.Type.CRASH_LOOP, 3, 4243, "worker 3 restarted more than 5 times in 60 s: crash loop");
        events.add(FleetEvent.Type.SCALED, 0, 0, "scaled from 2 to 4 workers");
        events.add(FleetEvent.Type.SPAWNED, 4, 4244, "worker 4 spawned as pid 4244");

        assertThat(output.getOut()).contains("WARN", "KILL_TIMEOUT: worker 3 outlived the kill timeout; KILL (pid 4242)")
                .contains("CRASH_LOOP: worker 3 restarted more than 5 times in 60 s: crash loop (pid 4243)")
                .contains("INFO", "SCALED: scaled from 2 to 4 workers")
                .doesNotContain("SCALED: scaled from 2 to 4 workers (pid")
                .as("SPAWNED is a step of what READY or an exit tells").doesNotContain("worker 4 spawned");
    }
}
