package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class SignalNamesTests {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"USR2, USR2", "usr2, USR2", "SIGUSR2, USR2", "sigusr2, USR2", "' SigHup ', HUP", "int, INT",
            "SIGQUIT, QUIT", "Usr1, USR1", "1, HUP", "2, INT", "3, QUIT", "10, USR1", "12, USR2", "' 12 ', USR2"})
    void aSignalNotMeantToStopAWorkerIsTakenInAnyCaseWithOrWithoutSigOrByItsNumber(String given, String name) {
        assertThat(SignalNames.request(given)).isEqualTo(name);
    }

    @ParameterizedTest(name = "{0}")
    @NullAndEmptySource
    @ValueSource(strings = {" ", "TERM", "SIGTERM", "15", "KILL", "9", "STOP", "SIGSTOP", "19", "TSTP", "20", "TTIN",
            "TTOU", "CONT", "18", "WINCH", "SEGV", "ABRT", "PIPE", "ALRM", "11", "0", "-12", "+12", "012", "SIG",
            "SIGSIGUSR2", "USR3", "RTMIN", "SIGRTMIN+1", "USR 2", "USR2\n1", "１２"})
    void everyOtherIsRefused(String given) {
        assertThat(SignalNames.request(given)).isNull();
    }

    @Test
    void aRefusalSaysWhyForTheSignalsThatStopOrFreezeAWorker() {
        assertThat(SignalNames.TAKEN).isEqualTo("one of HUP, INT, QUIT, USR1, USR2 (any case, with or without SIG, or "
                + "its number: 1, 2, 3, 10, 12)");
        assertThat(SignalNames.whyNot("sigterm")).isEqualTo("; TERM stops a worker: that is kill (POST "
                + "/fleet/workers/{id}/kill, shepherd kill ID --signal TERM)");
        assertThat(SignalNames.whyNot("9")).contains("KILL stops a worker");
        assertThat(SignalNames.whyNot("SIGSTOP")).startsWith("; STOP freezes a worker");
        assertThat(SignalNames.whyNot("tstp")).startsWith("; TSTP freezes a worker");
        assertThat(SignalNames.whyNot("TTIN")).startsWith("; TTIN freezes a worker");
        assertThat(SignalNames.whyNot("CONT")).startsWith("; CONT resumes a frozen worker");
        assertThat(SignalNames.whyNot("WINCH")).isEmpty();
        assertThat(SignalNames.whyNot(null)).isEmpty();
        assertThat(SignalNames.whyNot("USR2")).as("not refused at all").isEmpty();
    }

    @Test
    void theSignalsTakenAreOnesTheMasterCanSend() {
        assertThat(dev.shepherd.worker.Signals.SUPPORTED).containsAll(SignalNames.REQUESTS);
    }
}
