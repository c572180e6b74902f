package dev.shepherd.admin;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Found by a helper acting as a new user: without a token, any user of the machine drove the fleet (a reload runs
 * the command it is given as the master's user), and only the README's systemd section said so. The master now says,
 * once its admin port listens, whom it answers: its own user's processes and root's where the kernel's socket tables
 * tell them apart (Linux), with a warning that every user does elsewhere; and nothing of it with a token.
 */
@ExtendWith(OutputCaptureExtension.class)
class NoTokenWarningIntegrationTests {

    private static final String WARNING = "has no token: every user of this machine";
    private static final String NOTE = "has no token: it answers only ";

    @Test
    void aMasterWithoutATokenSaysOnceWhomItAnswers(CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            String log = output.getOut();
            String said = SocketOwners.ofThisProcess().checks() ? NOTE : WARNING;
            assertThat(log.split(said, -1)).as("said once").hasSize(2);
            assertThat(log).contains("The admin API on port " + shepherd.adminPort() + " " + said)
                    .contains("set FLEET_ADMIN_TOKEN or fleet.admin.token-file");
            if (said.equals(NOTE)) {
                assertThat(log).contains(said + SocketOwners.ofThisProcess().admitted()).doesNotContain(WARNING);
            }
        }
    }

    @Test
    void aMasterWithATokenSaysNothingOfIt(CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.admin.token=a-secret-for-this-test")) {
            assertThat(output.getOut()).doesNotContain(WARNING).doesNotContain(NOTE);
        }
    }
}
