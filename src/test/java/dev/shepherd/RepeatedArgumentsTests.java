package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** An option given twice on the command line stops startup instead of arriving as both values joined by a comma. */
class RepeatedArgumentsTests {

    @Test
    void anOptionGivenTwiceIsRefusedByNameWithoutItsValues() {
        assertThatThrownBy(() -> RepeatedArguments.check(new String[] {"--fleet.workers=2",
                "--fleet.admin.token=abc", "--fleet.admin.token=def"}))
                .isInstanceOfSatisfying(InvalidSetting.class, setting -> {
                    assertThat(setting.property()).isEqualTo("fleet.admin.token");
                    assertThat(setting.getMessage()).isEqualTo("--fleet.admin.token is given twice on the command "
                            + "line; Spring Boot would join the values with a comma into one that neither meant")
                            .doesNotContain("abc", "def");
                    assertThat(setting.action()).startsWith("Give --fleet.admin.token once; a list takes its items "
                            + "comma-separated in one argument");
                });
        assertThatThrownBy(() -> RepeatedArguments.check(new String[] {"--fleet.worker.command=python3,a.py",
                "--fleet.worker.command=node", "--fleet.worker.command=b.js"}))
                .hasMessageStartingWith("--fleet.worker.command is given 3 times");
    }

    @Test
    void onceEachOrWithoutAValueIsAccepted() {
        assertThatCode(() -> RepeatedArguments.check(new String[] {"--fleet.worker.command=node,server.js",
                "--server.port=0", "--debug", "--debug", "worker", "worker"})).doesNotThrowAnyException();
    }

    /** Registered for Shepherd's application: it fails before anything is started, under the option's name. */
    @Test
    void shepherdDoesNotStartWithAnOptionGivenTwice() {
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--fleet.readiness.path=/health", "--fleet.readiness.path=/ready"))
                .isInstanceOfSatisfying(InvalidSetting.class,
                        setting -> assertThat(setting.property()).isEqualTo("fleet.readiness.path"));
    }
}
