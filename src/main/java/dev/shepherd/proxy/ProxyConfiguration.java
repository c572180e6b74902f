package dev.shepherd.proxy;

import dev.shepherd.PortLayout;
import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.fleet.WorkerFleetService;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Clock;

/** Wires the data plane on {@code server.port} (see {@link PortLayout}). */
@Configuration(proxyBeanMethods = false)
class ProxyConfiguration {

    @Bean
    ProxyServer proxyServer(FleetProperties properties, WorkerFleetService fleet, MeterRegistry registry, Clock clock,
                            @Value("${" + PortLayout.PROXY_ADDRESS + ":0.0.0.0}") String address,
                            @Value("${" + PortLayout.PROXY_PORT + ":8080}") int port) {
        return new ProxyServer(properties, fleet, address, port, registry, clock);
    }
}
