package dev.shepherd.fleet;

import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Clock;

/** Wires the fleet. */
@Configuration(proxyBeanMethods = false)
class FleetConfiguration {

    @Bean
    @ConditionalOnMissingBean
    Clock clock() {
        return Clock.systemUTC();
    }

    @Bean
    WorkerFleetService workerFleetService(FleetProperties properties, Clock clock, MeterRegistry registry) {
        return new WorkerFleetService(properties, clock, registry);
    }
}
