package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ReloadReportTests {

    @Test
    void reloadStatusReadsAsOneLine() {
        assertThat(ReloadReport.describe(Json.MAPPER.readTree("{\"state\":\"FAILED\",\"generation\":4,\"total\":2,"
                + "\"replaced\":1,\"reason\":\"worker 9 was not READY within 3000 ms\"}")))
                .isEqualTo("reload to generation 4 failed and was rolled back: worker 9 was not READY within 3000 ms");
        assertThat(ReloadReport.describe(Json.MAPPER.readTree("{\"state\":\"FAILED\",\"generation\":4,\"total\":2,"
                + "\"replaced\":1,\"reason\":\"boom\",\"rollback\":\"RUNNING\"}")))
                .isEqualTo("reload to generation 4 failed and is being rolled back: boom");
        assertThat(ReloadReport.describe(Json.MAPPER.readTree("{\"state\":\"FAILED\",\"generation\":4,\"total\":2,"
                + "\"replaced\":1,\"reason\":\"boom\",\"rollback\":\"STOPPED\"}")))
                .isEqualTo("reload to generation 4 failed and its rollback stopped (workers of generation 4 still serve): boom");
        assertThat(ReloadReport.describe(Json.MAPPER.readTree("{\"state\":\"SUCCEEDED\",\"generation\":4,\"total\":2,"
                + "\"replaced\":2,\"finishedAt\":\"2026-12-04T10:00:00.123456789Z\"}")))
                .as("to the millisecond, as events are").isEqualTo("reload to generation 4 succeeded at "
                        + "2026-12-04T10:00:00.123Z: 2 of 2 workers replaced");
        assertThat(ReloadReport.describe(Json.MAPPER.readTree("{\"state\":\"SUCCEEDED\",\"generation\":4,\"total\":2,"
                + "\"replaced\":2,\"finishedAt\":\"2026-12-04T10:00:00Z\"}")))
                .as("three digits even when they are 0").contains("succeeded at 2026-12-04T10:00:00.000Z:");
        assertThat(ReloadReport.describe(Json.MAPPER.readTree("{\"state\":\"RUNNING\",\"generation\":2,\"total\":3,\"replaced\":1}")))
                .isEqualTo("reload to generation 2 running: 1 of 3 workers replaced");
        assertThat(ReloadReport.describe(Json.MAPPER.readTree("{\"state\":\"RUNNING\",\"generation\":2,\"total\":1,\"replaced\":0}")))
                .isEqualTo("reload to generation 2 running: 0 of 1 worker replaced");
    }
}
