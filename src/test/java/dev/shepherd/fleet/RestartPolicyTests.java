package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RestartPolicyTests {

    @Test
    void alwaysRestartsAfterAnyExit() {
        assertThat(RestartPolicy.ALWAYS.restarts(0)).isTrue();
        assertThat(RestartPolicy.ALWAYS.restarts(1)).isTrue();
        assertThat(RestartPolicy.ALWAYS.restarts(137)).isTrue();
    }

    @Test
    void onFailureRestartsOnlyAfterANonZeroExitOrASignal() {
        assertThat(RestartPolicy.ON_FAILURE.restarts(0)).isFalse();
        assertThat(RestartPolicy.ON_FAILURE.restarts(1)).isTrue();
        assertThat(RestartPolicy.ON_FAILURE.restarts(143)).isTrue();
    }

    @Test
    void neverRestarts() {
        assertThat(RestartPolicy.NEVER.restarts(0)).isFalse();
        assertThat(RestartPolicy.NEVER.restarts(1)).isFalse();
        assertThat(RestartPolicy.NEVER.restarts(137)).isFalse();
    }
}
