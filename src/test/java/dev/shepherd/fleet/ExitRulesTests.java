package dev.shepherd.fleet;

import dev.shepherd.fleet.ExitRules.Outcome;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** The restart table: what follows each exit cause under each restart policy, as Kubernetes documents its own. */
class ExitRulesTests {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final Duration QUICK = Duration.ofMillis(50);

    private static Backoff history(RestartPolicy policy, int crashLoopRestarts) {
        return new Backoff(new FleetProperties.Restart(policy, Duration.ofMillis(100), 2.0, Duration.ofSeconds(30),
                Duration.ofSeconds(10), crashLoopRestarts, Duration.ofSeconds(60), Duration.ofSeconds(1)));
    }

    @ParameterizedTest(name = "{0} under {1} (unready replacement: {2}) -> {3} in {4}")
    @CsvSource({
            // cause,          policy,     unready replacement, outcome,   state
            "STOPPED,          ALWAYS,     false, REMOVE,      EXITED",
            "STOPPED,          NEVER,      false, REMOVE,      EXITED",
            "STOPPED,          ALWAYS,     true,  REMOVE,      EXITED",
            "REPLACED,         ALWAYS,     false, REMOVE,      EXITED",
            "REPLACED,         ON_FAILURE, false, REMOVE,      EXITED",
            "CRASHED,          ALWAYS,     true,  ROLL_BACK,   EXITED",
            "STARTUP_TIMEOUT,  ALWAYS,     true,  ROLL_BACK,   EXITED",
            "COULD_NOT_START,  NEVER,      true,  ROLL_BACK,   EXITED",
            "CRASHED,          ALWAYS,     false, RESTART,     BACKOFF",
            "CRASHED,          ON_FAILURE, false, RESTART,     BACKOFF",
            "CRASHED,          NEVER,      false, STAY_EXITED, EXITED",
            "KILLED_BY_SIGNAL, ALWAYS,     false, RESTART,     BACKOFF",
            "KILLED_BY_SIGNAL, ON_FAILURE, false, RESTART,     BACKOFF",
            "KILLED_BY_SIGNAL, NEVER,      false, STAY_EXITED, EXITED",
            "SIGNALLED,        ALWAYS,     false, RESTART,     BACKOFF",
            "SIGNALLED,        ON_FAILURE, false, RESTART,     BACKOFF",
            "SIGNALLED,        NEVER,      false, STAY_EXITED, EXITED",
            "SIGNALLED,        ALWAYS,     true,  ROLL_BACK,   EXITED",
            "EXITED_CLEANLY,   ALWAYS,     false, RESTART,     BACKOFF",
            "EXITED_CLEANLY,   ON_FAILURE, false, STAY_EXITED, EXITED",
            "EXITED_CLEANLY,   NEVER,      false, STAY_EXITED, EXITED",
            "HUNG,             ALWAYS,     false, RESTART,     BACKOFF",
            "HUNG,             ON_FAILURE, false, RESTART,     BACKOFF",
            "HUNG,             NEVER,      false, STAY_EXITED, EXITED",
            "STARTUP_TIMEOUT,  ALWAYS,     false, RESTART,     BACKOFF",
            "STARTUP_TIMEOUT,  ON_FAILURE, false, RESTART,     BACKOFF",
            "STARTUP_TIMEOUT,  NEVER,      false, STAY_EXITED, EXITED",
            "COULD_NOT_START,  ALWAYS,     false, RESTART,     FAILED",
            "COULD_NOT_START,  ON_FAILURE, false, RESTART,     FAILED",
            "COULD_NOT_START,  NEVER,      false, STAY_EXITED, EXITED",
    })
    void exitIsFollowedByWhatTheTableSays(ExitCause cause, RestartPolicy policy, boolean unreadyReplacement,
                                          Outcome outcome, WorkerState state) {
        ExitRules.Reaction reaction = ExitRules.decide(cause, unreadyReplacement, policy, history(policy, 20), QUICK,
                null, T0);

        assertThat(reaction.outcome()).isEqualTo(outcome);
        assertThat(reaction.state()).isEqualTo(state);
        assertThat(reaction.delay()).isEqualTo(outcome == Outcome.RESTART ? Duration.ofMillis(100) : Duration.ZERO);
        assertThat(reaction.crashLoop()).isFalse();
    }

    @Test
    void quickCrashesBeyondTheCrashLoopCountFailAtTheLongestDelay() {
        Backoff history = history(RestartPolicy.ALWAYS, 2);
        for (int i = 0; i < 2; i++) {
            assertThat(ExitRules.decide(ExitCause.CRASHED, false, RestartPolicy.ALWAYS, history, QUICK, null,
                    T0.plusSeconds(i)).state()).isEqualTo(WorkerState.BACKOFF);
        }

        ExitRules.Reaction third = ExitRules.decide(ExitCause.CRASHED, false, RestartPolicy.ALWAYS, history, QUICK, null,
                T0.plusSeconds(2));

        assertThat(third).isEqualTo(new ExitRules.Reaction(Outcome.RESTART, WorkerState.FAILED, Duration.ofSeconds(30),
                true));
    }

    /** An operator's signal that the workers do not handle, sent again and again, is no crash loop of theirs. */
    @Test
    void exitsBySignalsSentOnRequestAreNeitherQuickCrashesNorACrashLoop() {
        Backoff history = history(RestartPolicy.ALWAYS, 2);
        for (int i = 0; i < 5; i++) {
            assertThat(ExitRules.decide(ExitCause.SIGNALLED, false, RestartPolicy.ALWAYS, history, QUICK, null,
                    T0.plusSeconds(i))).isEqualTo(new ExitRules.Reaction(Outcome.RESTART, WorkerState.BACKOFF,
                    Duration.ofMillis(100), false));
        }
        assertThat(ExitRules.decide(ExitCause.CRASHED, false, RestartPolicy.ALWAYS, history, QUICK, null,
                T0.plusSeconds(6)).delay()).as("the first quick crash's delay: none of the signals counted")
                .isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void exitAfterRunningStablyStartsTheHistoryOver() {
        Backoff history = history(RestartPolicy.ALWAYS, 2);
        ExitRules.decide(ExitCause.CRASHED, false, RestartPolicy.ALWAYS, history, QUICK, null, T0);
        ExitRules.decide(ExitCause.CRASHED, false, RestartPolicy.ALWAYS, history, QUICK, null, T0.plusSeconds(1));

        ExitRules.Reaction afterStableRun = ExitRules.decide(ExitCause.KILLED_BY_SIGNAL, false, RestartPolicy.ALWAYS,
                history, Duration.ofSeconds(5), Duration.ofSeconds(4), T0.plusSeconds(7));

        assertThat(afterStableRun).isEqualTo(new ExitRules.Reaction(Outcome.RESTART, WorkerState.BACKOFF,
                Duration.ofMillis(100), false));
    }

    @Test
    void exitsThatAreNotRestartedLeaveTheHistoryAlone() {
        Backoff history = history(RestartPolicy.ON_FAILURE, 1);
        ExitRules.decide(ExitCause.CRASHED, false, RestartPolicy.ON_FAILURE, history, QUICK, null, T0);
        ExitRules.decide(ExitCause.EXITED_CLEANLY, false, RestartPolicy.ON_FAILURE, history, QUICK, null, T0);
        ExitRules.decide(ExitCause.STOPPED, false, RestartPolicy.ON_FAILURE, history, QUICK, null, T0);

        assertThat(ExitRules.decide(ExitCause.CRASHED, false, RestartPolicy.ON_FAILURE, history, QUICK, null,
                T0.plusSeconds(1)).crashLoop()).isTrue();
    }

    @ParameterizedTest(name = "planned {0}, replaced {1}, asked to stop for {2}, code {3}, sent {5} on request -> {6}")
    @CsvSource({
            "true,  false, HUNG,            143, ,     ,     STOPPED",
            "true,  true,  ,                143, TERM, ,     REPLACED",
            "false, true,  ,                1,   ,     ,     REPLACED",
            "false, false, HUNG,            0,   ,     ,     HUNG",
            "false, false, STARTUP_TIMEOUT, 137, KILL, ,     STARTUP_TIMEOUT",
            "false, false, ,                0,   ,     ,     EXITED_CLEANLY",
            "false, false, ,                3,   ,     ,     CRASHED",
            "false, false, ,                137, KILL, ,     KILLED_BY_SIGNAL",
            "false, false, ,                140, USR2, USR2, SIGNALLED",
            "false, false, ,                137, KILL, USR2, KILLED_BY_SIGNAL",
            "false, false, ,                0,   ,     HUP,  EXITED_CLEANLY",
            "false, false, ,                1,   ,     INT,  CRASHED",
            "true,  false, ,                129, HUP,  HUP,  STOPPED",
            "false, false, HUNG,            140, USR2, USR2, HUNG",
    })
    void exitIsClassifiedPlannedStopFirst(boolean planned, boolean replaced, ExitCause stopCause, int code, String signal,
                                          String requested, ExitCause expected) {
        assertThat(ExitCause.of(planned, replaced, stopCause, code, signal, requested)).isEqualTo(expected);
    }
}
