package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Whether HotSpot keeps SIGUSR2 for its thread suspension, as {@code _JAVA_SR_SIGNUM} says. */
class FleetSignalsTests {

    @Test
    void usr2IsTheJvmsUnlessSrSignumNamesAnotherSignalItTakes() {
        assertThat(FleetSignals.usr2KeptByJvm(null)).isTrue();
        assertThat(FleetSignals.usr2KeptByJvm("12")).as("SIGUSR2 itself").isTrue();
        assertThat(FleetSignals.usr2KeptByJvm("11")).as("HotSpot takes only numbers above SIGSEGV").isTrue();
        assertThat(FleetSignals.usr2KeptByJvm("65")).as("and below NSIG").isTrue();
        assertThat(FleetSignals.usr2KeptByJvm("usr1")).isTrue();
        assertThat(FleetSignals.usr2KeptByJvm("39")).isFalse();
        assertThat(FleetSignals.usr2KeptByJvm(" 13 ")).isFalse();
        assertThat(FleetSignals.usr2KeptByJvm("64")).isFalse();
        // As HotSpot's strtol reads it (a re-attacking helper's): trailing text ignored, only ASCII digits.
        assertThat(FleetSignals.usr2KeptByJvm("39abc")).isFalse();
        assertThat(FleetSignals.usr2KeptByJvm("\u0663\u0669")).as("Arabic-Indic 39").isTrue();
        assertThat(FleetSignals.usr2KeptByJvm("-39")).isTrue();
        assertThat(FleetSignals.usr2KeptByJvm("99999999999999999999")).isTrue();
    }
}
