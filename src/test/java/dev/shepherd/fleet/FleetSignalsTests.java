package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Whether HotSpot keeps SIGUSR2 for its thread suspension, as {@code _JAVA_SR_SIGNUM} says. */
class FleetSignalsTests {

    /**
     * Found by the suite's own masters: below Java 20 SIGUSR2 was ignored, an ignored signal stays ignored across
     * exec, and every worker then ignored USR2 too (one that should have ended by it, or a master started by another).
     */
    @Test
    void theMastersSignalsLeaveTheWorkersOwnDefaults() throws Exception {
        FleetSignals.install();
        Process child = new ProcessBuilder("sh", "-c", "grep SigIgn /proc/self/status").start();
        String line = new String(child.getInputStream().readAllBytes()).strip();
        assertThat(child.waitFor()).isZero();
        long ignored = Long.parseLong(line.substring(line.indexOf(':') + 1).strip(), 16);
        for (int signal : new int[] {10, 12}) {
            assertThat(ignored & (1L << (signal - 1))).as("signal %d ignored in a child", signal).isZero();
        }
    }

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
