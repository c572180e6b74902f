package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Found by a helper acting as a new user: {@code shepherd_proxy_requests_seconds} had only a count and a sum, and
 * Spring Boot's setting for a histogram was taken and did nothing, so the proxy's p99 could be had only from the
 * access log. With the setting, the requests' meter has its buckets; without it, it stays the cheap count and sum.
 */
class RequestHistogramIntegrationTests {

    @Test
    void springBootsHistogramSettingGivesTheRequestsMeterItsBuckets() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--management.metrics.distribution.percentiles-histogram.shepherd.proxy.requests=true")) {
            assertThat(shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/")).build()).statusCode()).isEqualTo(200);
            String prometheus = shepherd.admin("GET", "/actuator/prometheus", null).body();
            assertThat(prometheus).contains(
                    "shepherd_proxy_requests_seconds_bucket{method=\"GET\",outcome=\"success\",status=\"2xx\",le=\"+Inf\"} 1",
                    "shepherd_proxy_requests_seconds_count{method=\"GET\",outcome=\"success\",status=\"2xx\"} 1");
        }
    }

    @Test
    void withoutItTheRequestsMeterIsACountAndASum() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            assertThat(shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/")).build()).statusCode()).isEqualTo(200);
            String prometheus = shepherd.admin("GET", "/actuator/prometheus", null).body();
            assertThat(prometheus).contains(
                    "shepherd_proxy_requests_seconds_count{method=\"GET\",outcome=\"success\",status=\"2xx\"} 1",
                    "shepherd_proxy_requests_seconds_sum{method=\"GET\",outcome=\"success\",status=\"2xx\"}")
                    .doesNotContain("shepherd_proxy_requests_seconds_bucket");
        }
    }
}
