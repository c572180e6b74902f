package dev.shepherd;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Found by a new user's attack: startup-timeout=60 (meant as seconds) killed every worker after 60 ms, silently. */
class UnitlessDurationsTests {

    @Test
    void aDurationWithoutAUnitIsWarnedAboutAndOnlyThat() {
        Map<String, String> known = new LinkedHashMap<>();
        known.put("fleet.worker.startup-timeout", "java.time.Duration");
        known.put("fleet.worker.drain-timeout", "java.time.Duration");
        known.put("fleet.restart.initial-backoff", "java.time.Duration");
        known.put("fleet.restart.min-uptime", "java.time.Duration");
        known.put("fleet.workers", "java.lang.Integer");
        Map<String, String> values = Map.of("fleet.worker.startup-timeout", "60", "fleet.worker.drain-timeout", "30s",
                "fleet.restart.initial-backoff", "0", "fleet.workers", "4");

        assertThat(UnitlessDurations.warnings(values::get, known)).containsExactly("fleet.worker.startup-timeout=60 has no "
                + "unit and is read as 60 ms: write 60s for seconds, or 60ms to keep it and silence this");
    }

    /** Found by a new user's attack (2026-12-04): "write 60000s for seconds" offered 16 hours for what meant a minute. */
    @Test
    void aNumberOfAThousandOrMoreIsNotOfferedAsSeconds() {
        Map<String, String> known = Map.of("fleet.worker.startup-timeout", "java.time.Duration");

        assertThat(UnitlessDurations.warnings(Map.of("fleet.worker.startup-timeout", "60000")::get, known))
                .containsExactly("fleet.worker.startup-timeout=60000 has no unit and is read as 60000 ms (60s): write "
                        + "60000ms to keep it and silence this");
        assertThat(UnitlessDurations.warnings(Map.of("fleet.worker.startup-timeout", "1500")::get, known))
                .containsExactly("fleet.worker.startup-timeout=1500 has no unit and is read as 1500 ms: write "
                        + "1500ms to keep it and silence this");
    }

    @Test
    void everyDurationTheMetadataListsIsChecked() {
        assertThat(KnownSettings.types()).containsEntry("fleet.worker.startup-timeout", "java.time.Duration");
    }
}
