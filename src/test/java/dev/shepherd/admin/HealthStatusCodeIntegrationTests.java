package dev.shepherd.admin;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Probes and load balancers read the status code, not the body: a fleet with no READY worker must answer its health
 * and readiness with 503 (found by attack: 200 with {@code "status":"DOWN"} in the body, since a status mapping of
 * one's own replaces Spring Boot's DOWN and OUT_OF_SERVICE defaults), while liveness, the master's own, stays 200.
 */
class HealthStatusCodeIntegrationTests {

    @Test
    void aFleetWithNoWorkerThatCanStartIsDownWith503AndTheMasterStaysLive() {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command=/nonexistent/worker-program")) {
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(shepherd.admin("GET", "/actuator/health/readiness", null).statusCode()).isEqualTo(503);
                assertThat(shepherd.admin("GET", "/actuator/health", null).statusCode()).isEqualTo(503);
            });
            assertThat(shepherd.admin("GET", "/actuator/health", null).body()).contains("\"status\":\"DOWN\"");
            assertThat(shepherd.admin("GET", "/actuator/health/liveness", null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aServingFleetIsUpWith200() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            assertThat(shepherd.admin("GET", "/actuator/health/readiness", null).statusCode()).isEqualTo(200);
            assertThat(shepherd.admin("GET", "/actuator/health", null).statusCode()).isEqualTo(200);
        }
    }
}
