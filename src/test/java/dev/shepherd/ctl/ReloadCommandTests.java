package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ReloadCommandTests {

    @Test
    void reloadStatusReadsAsOneLine() {
        assertThat(ReloadCommand.describe(Json.MAPPER.readTree("{\"state\":\"FAILED\",\"generation\":4,\"total\":2,"
                + "\"replaced\":1,\"reason\":\"worker 9 was not READY within 3000 ms\"}")))
                .isEqualTo("reload to generation 4 failed and was rolled back: worker 9 was not READY within 3000 ms");
        assertThat(ReloadCommand.describe(Json.MAPPER.readTree("{\"state\":\"RUNNING\",\"generation\":2,\"total\":3,\"replaced\":1}")))
                .isEqualTo("reload to generation 2 running: 1 of 3 workers replaced");
    }
}
