package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.springframework.mock.env.MockEnvironment;

import static org.assertj.core.api.Assertions.assertThat;

class EmptyWorkerCommandTests {

    @Test
    void anEmptyCommandIsWarnedAboutAndALeftOutOrGivenOneIsNot() {
        assertThat(EmptyWorkerCommand.warning(new MockEnvironment().withProperty("fleet.worker.command", "")))
                .startsWith("fleet.worker.command is set but empty, so the built-in demo worker runs");
        assertThat(EmptyWorkerCommand.warning(new MockEnvironment())).isNull();
        assertThat(EmptyWorkerCommand.warning(new MockEnvironment().withProperty("fleet.worker.command", "node,app.js"))).isNull();
        assertThat(EmptyWorkerCommand.warning(new MockEnvironment().withProperty("fleet.worker.command[0]", "node")
                .withProperty("fleet.worker.command", ""))).isNull();
    }
}
