package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The startup log's line of the balancing settings in effect, in their written form. */
class BalancingLineTests {

    @Test
    void theDefaultsAreSpelledOut() {
        assertThat(ProxyServer.balancing(TunnelTests.properties(Map.of()), 0)).isEqualTo(
                "round-robin, no max-concurrency, request bodies read first (64 KB in memory, the "
                        + "rest on disk, at most 10 MB), queue-limit 10000, "
                        + "queue-timeout 5000 ms, no sticky sessions");
    }

    @Test
    void everySettingIsNamedAsWritten() {
        assertThat(ProxyServer.balancing(TunnelTests.properties(Map.of("fleet.proxy.balancer", "least-request",
                "fleet.proxy.sticky.cookie", "SRV", "fleet.proxy.sticky.app-cookie", "JSESSIONID",
                "fleet.proxy.request-buffering", "false", "fleet.proxy.client-max-body-size", "0")), 2)).isEqualTo(
                "least-request, max-concurrency 2, request bodies streamed (no size limit), queue-limit 10000, "
                        + "queue-timeout 5000 ms, "
                        + "sticky cookie SRV, sticky app-cookie JSESSIONID");
    }
}
