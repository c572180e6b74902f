package dev.shepherd;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What the master's own command line takes: settings only (found by a new user's attack: "status" started a master). */
class ShepherdApplicationTests {

    @Test
    void settingsStartTheMaster() {
        assertThat(ShepherdApplication.refusal(new String[0])).isNull();
        assertThat(ShepherdApplication.refusal(new String[] {"--fleet.workers=2", "--debug", "--server.port=0"})).isNull();
        assertThat(ShepherdApplication.refusal(new String[] {"--server.servlet.context-parameters.[x..y]=1"}))
                .as("a bracketed key may hold dots").isNull();
        assertThat(ShepherdApplication.refusal(new String[] {"--trace", "--fleet.worker.use-cgroups", "--debug=true"}))
                .as("Spring Boot's flags, a property set empty").isNull();
    }

    /** A new user's java -jar shepherd.jar signal USR2 3 was told 'signal' is not a setting. */
    @Test
    void aCommandOfTheCommandLineIsRefusedWithTheLineThatRunsIt() {
        assertThat(ShepherdApplication.refusal(new String[] {"signal", "USR2", "3"})).isEqualTo("'signal' is a command "
                + "of the command line: java -jar shepherd.jar ctl signal USR2 3 (or bin/shepherd signal ...)");
        assertThat(ShepherdApplication.refusal(new String[] {"list"})).startsWith("'list' is a command of the command line");
    }

    @Test
    void aWordIsRefusedNamingTheCommandLine() {
        assertThat(ShepherdApplication.refusal(new String[] {"--fleet.workers=2", "status"}))
                .startsWith("'status' is not a setting: java -jar shepherd.jar [--setting=value ...] runs the master")
                .contains("bin/shepherd COMMAND", "java -jar shepherd.jar ctl COMMAND");
        assertThat(ShepherdApplication.refusal(new String[] {"-Dfleet.workers=2"})).startsWith("'-Dfleet.workers=2' is not");
        assertThat(ShepherdApplication.refusal(new String[] {"--status"}))
                .startsWith("'--status' is not a setting (settings have dotted names, such as --fleet.workers=4 or "
                        + "--server.port=8080): java -jar shepherd.jar [--setting");
        assertThat(ShepherdApplication.refusal(new String[] {"--port=9000"})).startsWith("'--port=9000' is not a setting");
        for (String empty : new String[] {"--.x=1", "--a.", "--server..port=1"}) {
            assertThat(ShepherdApplication.refusal(new String[] {empty})).as(empty).startsWith("'" + empty + "' is not a setting");
        }
        assertThat(ShepherdApplication.refusal(new String[] {"--fleet.workers=2", "--ls"})).startsWith("'--ls' is not");
        assertThat(ShepherdApplication.refusal(new String[] {"\u001b]52;c;x\u0007"})).startsWith("'^[]52;c;x^G' is not");
    }

    @Test
    void helpSaysWhatTheJarRuns() {
        assertThat(ShepherdApplication.refusal(new String[] {"--help"})).startsWith("java -jar shepherd.jar [--setting");
        assertThat(ShepherdApplication.refusal(new String[] {"-h"})).startsWith("java -jar shepherd.jar [--setting");
        assertThat(ShepherdApplication.refusal(new String[] {"--server.port=1", "--help"}))
                .startsWith("java -jar shepherd.jar [--setting");
        assertThat(ShepherdApplication.refusal(new String[] {"--"})).startsWith("'--' is not a setting");
        assertThat(ShepherdApplication.refusal(new String[] {"--=x"})).startsWith("'--=x' is not a setting");
    }
}
