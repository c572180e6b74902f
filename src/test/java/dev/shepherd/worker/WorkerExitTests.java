package dev.shepherd.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class WorkerExitTests {

    @ParameterizedTest
    @CsvSource({"137, KILL", "143, TERM", "130, INT", "129, HUP", "139, SEGV", "134, ABRT", "138, USR1", "140, USR2"})
    void exitCodeAbove128NamesTheSignal(int code, String signal) {
        assertThat(WorkerExit.signalOf(code)).isEqualTo(signal);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 127, 128, 144, 255, -1})
    void exitCodeThatIsNoKnownSignalHasNone(int code) {
        assertThat(WorkerExit.signalOf(code)).isNull();
    }

    @Test
    void onlyExitCodeZeroIsClean() {
        assertThat(exit(0).clean()).isTrue();
        assertThat(exit(1).clean()).isFalse();
        assertThat(exit(143).clean()).isFalse();
    }

    private static WorkerExit exit(int code) {
        return new WorkerExit(100, code, WorkerExit.signalOf(code), Instant.EPOCH, Duration.ofSeconds(1), "crashed", List.of());
    }
}
