package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LogMergeTests {

    private static JsonNode line(long seq, String at) {
        return Json.MAPPER.readTree("{\"seq\": " + seq + ", \"at\": \"" + at + "\", \"line\": \"l" + seq + "\"}");
    }

    private static List<String> order(List<LogMerge.Printed> merged) {
        return merged.stream().map(printed -> printed.worker() + ":" + printed.element().path("seq").asLong()).toList();
    }

    /** Instant.toString leaves out trailing zeros: as text, .12Z sorts after .123Z (the lines were printed so). */
    @Test
    void timesAreComparedAsTimesNotAsText() {
        List<LogMerge.Printed> one = LogMerge.collect(1, List.of(line(1, "2025-01-01T00:00:01.12Z"),
                line(2, "2025-01-01T00:00:01.123Z")));
        List<LogMerge.Printed> two = LogMerge.collect(2, List.of(line(7, "2025-01-01T00:00:01.1225Z")));

        assertThat(order(LogMerge.merge(List.of(one, two)))).containsExactly("1:1", "2:7", "1:2");
    }

    @Test
    void aWorkersOwnOrderIsKeptEvenWhereItsTimesGoBack() {
        List<LogMerge.Printed> one = LogMerge.collect(1, List.of(line(1, "2025-01-01T00:00:02Z"),
                line(2, "2025-01-01T00:00:01Z")));

        assertThat(order(LogMerge.merge(List.of(one)))).containsExactly("1:1", "1:2");
    }

    @Test
    void aMarkerGoesWithItsWorkersNextLine() {
        List<LogMerge.Printed> one = LogMerge.collect(1, List.of(Json.MAPPER.readTree("{\"seq\": 4, \"missed\": 3}"),
                line(5, "2025-01-01T00:00:03Z")));
        List<LogMerge.Printed> two = LogMerge.collect(2, List.of(line(1, "2025-01-01T00:00:01Z"),
                line(2, "2025-01-01T00:00:04Z")));

        assertThat(order(LogMerge.merge(List.of(one, two)))).containsExactly("2:1", "1:4", "1:5", "2:2");
        assertThat(LogMerge.merge(List.of())).isEmpty();
    }
}
