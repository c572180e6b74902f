package dev.shepherd.proxy;

import dev.shepherd.PortLayout;
import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.fleet.WorkerFleetService;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.web.server.Ssl;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

import java.time.Clock;

/** Wires the data plane on {@code server.port} (see {@link PortLayout}). */
@Configuration(proxyBeanMethods = false)
class ProxyConfiguration {

    @Bean
    ProxyServer proxyServer(FleetProperties properties, WorkerFleetService fleet, MeterRegistry registry, Clock clock,
                            @Value("${" + PortLayout.PROXY_ADDRESS + ":0.0.0.0}") String address,
                            @Value("${" + PortLayout.PROXY_PORT + ":8080}") int port, Environment environment,
                            ObjectProvider<SslBundles> bundles,
                            @Value("${server.tomcat.max-connections:" + ConnectionLimit.UNBOUNDED_ADMIN_CONNECTIONS + "}")
                            int adminConnections, ApplicationEventPublisher events) {
        Ssl ssl = Binder.get(environment).bind(PortLayout.PROXY_SSL, Ssl.class).orElse(null);
        return new ProxyServer(properties, fleet, address, port, ssl, bundles.getIfAvailable(), adminConnections, events,
                registry, clock);
    }
}
