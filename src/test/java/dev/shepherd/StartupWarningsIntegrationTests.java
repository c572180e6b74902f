package dev.shepherd;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Warnings about the configuration come before the fleet starts: a worker killed for a unitless
 * {@code startup-timeout: 30} (30 ms) was logged before the warning that said so, which came after "Started
 * ShepherdApplication" (found by a new user).
 */
@ExtendWith(OutputCaptureExtension.class)
class StartupWarningsIntegrationTests {

    @Test
    void aSettingsWarningIsLoggedBeforeTheFirstWorkerIsKilledForIt(CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1", "--fleet.worker.startup-timeout=30",
                "--server.tomcat.max-conections=10")) {
            await().atMost(Duration.ofSeconds(20)).until(() -> output.getOut().contains("not READY within 30 ms"));
            String log = output.getOut();
            int unitless = log.indexOf("fleet.worker.startup-timeout=30 has no unit");
            int unknown = log.indexOf("server.tomcat.max-conections");
            int killed = log.indexOf("not READY within 30 ms");
            assertThat(unitless).as("warned").isNotNegative();
            assertThat(unknown).as("warned").isNotNegative();
            assertThat(unitless).as("before the first worker was killed for it").isLessThan(killed);
            assertThat(unknown).as("before the first worker was killed").isLessThan(killed);
        }
    }
}
