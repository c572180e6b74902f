package dev.shepherd.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.EnumSet;
import java.util.Map;

import static dev.shepherd.worker.WorkerState.BACKOFF;
import static dev.shepherd.worker.WorkerState.DRAINING;
import static dev.shepherd.worker.WorkerState.EXITED;
import static dev.shepherd.worker.WorkerState.FAILED;
import static dev.shepherd.worker.WorkerState.READY;
import static dev.shepherd.worker.WorkerState.STARTING;
import static dev.shepherd.worker.WorkerState.STOPPING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WorkerStateTests {

    /** The lifecycle as README.md describes it, written out independently of the enum's own table. */
    private static final Map<WorkerState, EnumSet<WorkerState>> LIFECYCLE = Map.of(
            STARTING, EnumSet.of(READY, STOPPING, BACKOFF, FAILED, EXITED),
            READY, EnumSet.of(DRAINING, STOPPING, BACKOFF, FAILED, EXITED),
            DRAINING, EnumSet.of(STOPPING, BACKOFF, FAILED, EXITED),
            STOPPING, EnumSet.of(BACKOFF, FAILED, EXITED),
            BACKOFF, EnumSet.of(STARTING, EXITED),
            FAILED, EnumSet.of(STARTING, EXITED),
            EXITED, EnumSet.noneOf(WorkerState.class));

    @ParameterizedTest
    @EnumSource(WorkerState.class)
    void everyTransitionOfTheLifecyclePasses(WorkerState from) {
        for (WorkerState to : LIFECYCLE.get(from)) {
            assertThat(from.canMoveTo(to)).as("%s -> %s", from, to).isTrue();
            assertThatCode(() -> WorkerState.checkTransition(7, from, to)).as("%s -> %s", from, to).doesNotThrowAnyException();
        }
    }

    @ParameterizedTest
    @EnumSource(WorkerState.class)
    void everyTransitionOutsideTheLifecycleThrows(WorkerState from) {
        for (WorkerState to : EnumSet.complementOf(EnumSet.copyOf(LIFECYCLE.get(from)))) {
            assertThat(from.canMoveTo(to)).as("%s -> %s", from, to).isFalse();
            assertThatThrownBy(() -> WorkerState.checkTransition(7, from, to)).as("%s -> %s", from, to)
                    .isInstanceOf(IllegalWorkerTransitionException.class);
        }
    }

    @Test
    void illegalTransitionNamesWorkerFromAndTo() {
        assertThatThrownBy(() -> WorkerState.checkTransition(42, BACKOFF, READY))
                .isInstanceOfSatisfying(IllegalWorkerTransitionException.class, ex -> {
                    assertThat(ex.getWorkerId()).isEqualTo(42);
                    assertThat(ex.getFrom()).isEqualTo(BACKOFF);
                    assertThat(ex.getTo()).isEqualTo(READY);
                })
                .hasMessage("Worker 42 cannot move from BACKOFF to READY");
    }

    @Test
    void readyWorkerCannotGoBackToStartingWithoutARestart() {
        assertThatThrownBy(() -> WorkerState.checkTransition(1, READY, STARTING))
                .isInstanceOf(IllegalWorkerTransitionException.class)
                .hasMessageContaining("Worker 1").hasMessageContaining("READY").hasMessageContaining("STARTING");
    }

    @Test
    void drainingWorkerNeverReturnsToRotation() {
        assertThat(DRAINING.canMoveTo(READY)).isFalse();
    }

    @Test
    void stoppingWorkerCannotBeDrainedOrMadeReady() {
        assertThat(STOPPING.canMoveTo(DRAINING)).isFalse();
        assertThat(STOPPING.canMoveTo(READY)).isFalse();
    }

    @Test
    void workerWithoutProcessCannotBecomeReadyOrBeStopped() {
        for (WorkerState idle : EnumSet.of(BACKOFF, FAILED)) {
            assertThat(idle.canMoveTo(READY)).as(idle.name()).isFalse();
            assertThat(idle.canMoveTo(DRAINING)).as(idle.name()).isFalse();
            assertThat(idle.canMoveTo(STOPPING)).as(idle.name()).isFalse();
        }
    }

    @ParameterizedTest
    @EnumSource(WorkerState.class)
    void exitedIsTerminal(WorkerState to) {
        assertThat(EXITED.canMoveTo(to)).isFalse();
        assertThatThrownBy(() -> WorkerState.checkTransition(3, EXITED, to))
                .isInstanceOf(IllegalWorkerTransitionException.class)
                .hasMessage("Worker 3 cannot move from EXITED to " + to);
    }

    @Test
    void noStateMovesToItself() {
        for (WorkerState state : WorkerState.values()) {
            assertThat(state.canMoveTo(state)).as(state.name()).isFalse();
        }
    }

    @Test
    void onlyStartingReadyDrainingAndStoppingHaveAProcess() {
        assertThat(EnumSet.allOf(WorkerState.class).stream().filter(WorkerState::hasProcess))
                .containsExactlyInAnyOrder(STARTING, READY, DRAINING, STOPPING);
    }
}
