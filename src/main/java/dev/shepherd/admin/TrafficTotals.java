package dev.shepherd.admin;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.FunctionTimer;
import lombok.RequiredArgsConstructor;
import org.springframework.stereotype.Component;

/**
 * Reads the proxy's request totals from its meters, so the admin plane needs nothing from the data plane: failures
 * are the requests answered with a 5xx and those whose response a worker cut short (outcome {@code cut}).
 */
@Component
@RequiredArgsConstructor
class TrafficTotals {

    private final MeterRegistry registry;

    FleetView.Traffic read() {
        long requests = 0;
        long failures = 0;
        for (FunctionTimer timer : registry.find("shepherd.proxy.requests").functionTimers()) {
            long count = (long) timer.count();
            requests += count;
            if ("5xx".equals(timer.getId().getTag("status")) || "cut".equals(timer.getId().getTag("outcome"))) {
                failures += count;
            }
        }
        return new FleetView.Traffic(requests, failures);
    }
}
