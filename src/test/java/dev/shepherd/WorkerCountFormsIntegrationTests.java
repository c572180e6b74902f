package dev.shepherd;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code fleet.workers: max} taken by a real master, as {@code -i max} is. */
class WorkerCountFormsIntegrationTests {

    /** A real master given {@code max}: one per processor, here capped by max-workers at 1. */
    @Test
    void aMasterTakesMax() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=max", "--fleet.max-workers=1",
                RunningShepherd.echoWorkerCommand())) {
            assertThat(shepherd.snapshot().desired()).isEqualTo(1);
        }
    }
}
