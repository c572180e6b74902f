package dev.shepherd.admin;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Found by a helper acting as a new user: without a token, any user of the machine drives the fleet (a reload runs
 * the command it is given as the master's user), and only the README's systemd section said so. The master says so
 * once its admin port listens, and not with a token.
 */
@ExtendWith(OutputCaptureExtension.class)
class NoTokenWarningIntegrationTests {

    private static final String WARNING = "has no token: every user of this machine";

    @Test
    void aMasterWithoutATokenWarnsOnceThatEveryLocalUserDrivesTheFleet(CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            String log = output.getOut();
            assertThat(log.split(WARNING, -1)).as("said once").hasSize(2);
            assertThat(log).contains("The admin API on port " + shepherd.adminPort() + " " + WARNING)
                    .contains("set FLEET_ADMIN_TOKEN or fleet.admin.token-file");
        }
    }

    @Test
    void aMasterWithATokenSaysNothingOfIt(CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.admin.token=a-secret-for-this-test")) {
            assertThat(output.getOut()).doesNotContain(WARNING);
        }
    }
}
