package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.TestEndpoints;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class ProxyMetricsTests {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final ProxyMetrics metrics = new ProxyMetrics(registry);

    /** A new user found shepherd_proxy_rejected_total in the README but not in a scrape before the first refusal. */
    @Test
    void theUsualRefusalsHaveTheirSeriesAtZeroFromTheStart() {
        assertThat(registry.find("shepherd.proxy.rejected").counters()).extracting(counter -> counter.getId().getTag("status"))
                .containsExactlyInAnyOrder("400", "408", "414", "431");
        assertThat(registry.find("shepherd.proxy.rejected").counters()).allSatisfy(counter ->
                assertThat(counter.count()).isZero());
    }

    @Test
    void tunnelGaugeKeepsARowPerSlotWhileItsWorkerHasNoProcessSoRestartsAddAndRemoveNoSeries() {
        Endpoint first = TestEndpoints.accepting(1, 0, 0);
        Endpoint second = TestEndpoints.accepting(2, 1, 0);
        metrics.tunnelsPerWorker(TestEndpoints.snapshot(new Endpoint[] {first, second}));
        first.tunnelOpened(spread -> { });
        second.tunnelOpened(spread -> { });
        assertThat(tunnelRows()).containsExactly(Map.entry("0", 1.0), Map.entry("1", 1.0));

        // Slot 1's process exited and its worker backs off before the next start: no process, no endpoint.
        metrics.tunnelsPerWorker(TestEndpoints.snapshotWithSlotsBackingOff(new Endpoint[] {first}, 1));
        assertThat(tunnelRows()).as("rows by index while slot 1 has no process").containsExactly(Map.entry("0", 1.0),
                Map.entry("1", 0.0));

        Endpoint restarted = TestEndpoints.accepting(3, 1, 0);
        metrics.tunnelsPerWorker(TestEndpoints.snapshot(new Endpoint[] {first, restarted}));
        assertThat(tunnelRows()).containsExactly(Map.entry("0", 1.0), Map.entry("1", 0.0));
    }

    @Test
    void aRecycleOrReloadStepRegistersNoRowAgainSoNoSeriesVanishesFromAScrape() {
        Endpoint first = TestEndpoints.accepting(1, 0, 0);
        Endpoint second = TestEndpoints.accepting(2, 1, 0);
        metrics.tunnelsPerWorker(TestEndpoints.snapshot(new Endpoint[] {first, second}));
        Gauge slot0 = registry.find("shepherd.proxy.tunnels").tag("index", "0").gauge();
        Gauge slot1 = registry.find("shepherd.proxy.tunnels").tag("index", "1").gauge();

        // Slot 1's recycle: its successor runs beside it (same index), then it is gone.
        Endpoint successor = TestEndpoints.accepting(3, 1, 0);
        metrics.tunnelsPerWorker(TestEndpoints.snapshot(new Endpoint[] {first, second, successor}));
        successor.tunnelOpened(spread -> { });
        second.tunnelOpened(spread -> { });
        assertThat(tunnelRows()).containsExactly(Map.entry("0", 0.0), Map.entry("1", 2.0));
        metrics.tunnelsPerWorker(TestEndpoints.snapshot(new Endpoint[] {first, successor}));

        assertThat(tunnelRows()).containsExactly(Map.entry("0", 0.0), Map.entry("1", 1.0));
        assertThat(registry.find("shepherd.proxy.tunnels").tag("index", "0").gauge()).as("slot 0's meter").isSameAs(slot0);
        assertThat(registry.find("shepherd.proxy.tunnels").tag("index", "1").gauge()).as("slot 1's meter").isSameAs(slot1);
    }

    @Test
    void scalingDownRemovesTheRowsOfTheIndexesNoLongerHeld() {
        Endpoint first = TestEndpoints.accepting(1, 0, 0);
        Endpoint second = TestEndpoints.accepting(2, 1, 0);
        metrics.tunnelsPerWorker(TestEndpoints.snapshot(new Endpoint[] {first, second}));

        metrics.tunnelsPerWorker(TestEndpoints.snapshot(new Endpoint[] {first}));

        assertThat(tunnelRows()).containsOnlyKeys("0");
    }

    private Map<String, Double> tunnelRows() {
        Map<String, Double> rows = new TreeMap<>();
        for (Gauge gauge : registry.find("shepherd.proxy.tunnels").gauges()) {
            rows.put(gauge.getId().getTag("index"), gauge.value());
        }
        return rows;
    }
}
