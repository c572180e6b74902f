package dev.shepherd.fleet;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real master's signals, as gunicorn reads them: {@code SIGHUP} replaces every worker by a rolling reload and the
 * master stays up (the JVM's default stopped it), {@code SIGTTIN} and {@code SIGTTOU} scale by one.
 */
class FleetSignalsIntegrationTests {

    @Test
    void hangUpReloadsEveryWorkerAndTtinTtouScaleByOne() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(2, RunningShepherd.echoWorkerCommand())) {
            List<Long> before = master.readyWorkerPids();

            signal(master, "HUP");

            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
                assertThat(master.admin("/fleet").body()).contains("\"generation\":2", "\"state\":\"SUCCEEDED\"");
                assertThat(master.readyWorkerPids()).hasSize(2).doesNotContainAnyElementsOf(before);
            });
            assertThat(master.isAlive()).isTrue();
            assertThat(master.output()).contains("SIGHUP: rolling reload to generation 2 started");

            signal(master, "TTIN");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(master.readyWorkerPids()).hasSize(3));
            signal(master, "TTOU");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(master.readyWorkerPids()).hasSize(2));
            // Logged once the scale returned, by way of the console's own thread: maybe after the worker left.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(master.output())
                    .contains("SIGTTIN: scaling from 2 to 3 workers", "SIGTTOU: scaling from 3 to 2 workers"));
        }
    }

    private static void signal(MasterProcess master, String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(master.pid())).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }
}
