package dev.shepherd.admin;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.FunctionTimer;
import java.util.concurrent.TimeUnit;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class TrafficTotalsTests {

    private final MeterRegistry registry = new SimpleMeterRegistry();
    private final TrafficTotals totals = new TrafficTotals(registry);
    /** Micrometer holds a function timer's state weakly: the test keeps it alive, as ProxyMetrics does. */
    private final java.util.List<long[]> states = new java.util.ArrayList<>();

    @Test
    void noTrafficYetIsZero() {
        assertThat(totals.read()).isEqualTo(new FleetView.Traffic(0, 0));
    }

    @Test
    void requestsAreSummedOverAllStatusesAndOnly5xxCountAsFailures() {
        record(2, "GET", "2xx", "success");
        record(1, "POST", "2xx", "retried");
        record(2, "GET", "4xx", "success");
        record(3, "GET", "5xx", "proxy-error");
        record(1, "PUT", "5xx", "success");
        registry.timer("some.other.timer", "status", "5xx").record(Duration.ofMillis(1));

        assertThat(totals.read()).isEqualTo(new FleetView.Traffic(9, 4));
    }

    @Test
    void responsesAWorkerCutShortAreFailuresWhateverTheirStatus() {
        record(5, "GET", "2xx", "success");
        record(2, "GET", "2xx", "cut");
        record(1, "GET", "5xx", "cut");

        assertThat(totals.read()).isEqualTo(new FleetView.Traffic(8, 3));
    }

    private void record(int count, String method, String status, String outcome) {
        long[] state = {count};
        states.add(state);
        FunctionTimer.builder("shepherd.proxy.requests", state, counts -> counts[0], counts -> counts[0] * 1e6,
                        TimeUnit.NANOSECONDS)
                .tags("method", method, "status", status, "outcome", outcome).register(registry);
    }
}
