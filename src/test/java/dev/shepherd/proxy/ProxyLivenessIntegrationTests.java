package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A proxy event loop that ends while the proxy runs (an {@code OutOfDirectMemoryError} out of a read, found by an
 * attacking helper, ended both loops: the master answered health UP and served nothing) makes liveness BROKEN, so
 * that whatever watches {@code /actuator/health/liveness} restarts the master. A stop does not.
 */
class ProxyLivenessIntegrationTests {

    @Test
    void anEventLoopThatEndsWhileTheProxyRunsBreaksLivenessAndAStopDoesNot() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            assertThat(shepherd.admin("GET", "/actuator/health/liveness", null).statusCode()).isEqualTo(200);

            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            proxy.eventLoops().next().shutdownGracefully(0, 0, TimeUnit.SECONDS);

            await().atMost(Duration.ofSeconds(10)).until(
                    () -> shepherd.admin("GET", "/actuator/health/liveness", null).statusCode() == 503);
            assertThat(shepherd.admin("GET", "/actuator/health/liveness", null).body()).contains("DOWN");
        }
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            proxy.stop();

            assertThat(proxy.eventLoops().isTerminated()).isTrue();
            assertThat(shepherd.admin("GET", "/actuator/health/liveness", null).statusCode()).isEqualTo(200);
        }
    }
}
