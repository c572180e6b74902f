package dev.shepherd;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.web.server.PortInUseException;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * The admin API's port ({@code management.server.port}, which {@link PortLayout} gives the servlet container as
 * {@code server.port}) checked free once every bean is made, before the fleet starts its workers: the servlet
 * container binds it after the fleet's phase, so a port in use stopped the start only after the workers had run (a
 * migration or an instance-0 cron job for nothing; found by a new user). Bound once and let go, as the proxy checks
 * its own ({@code ProxyServer}); a port in use is Spring Boot's {@link PortInUseException}, which
 * {@link ConfigurationFailureAnalyzer} names by its setting.
 */
@Component
class AdminPortFree implements SmartInitializingSingleton {

    private final Environment environment;

    AdminPortFree(Environment environment) {
        this.environment = environment;
    }

    @Override
    public void afterSingletonsInstantiated() {
        Integer port = environment.getProperty("server.port", Integer.class);
        if (port == null || port < 0) {
            return;
        }
        String address = environment.getProperty("server.address", "0.0.0.0");
        try (Socket probe = new Socket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(address, port));
        } catch (IOException ex) {
            if (ex.getMessage() != null && ex.getMessage().contains("Address already in use")) {
                throw new PortInUseException(port, ex);
            }
            // An address not on this host, a port below 1024 without the right: said as the proxy says it, before a
            // worker runs (the servlet container's stack trace came after one had; an attacking helper's).
            InvalidSetting setting = new InvalidSetting("management.server.address and management.server.port",
                    "The admin API cannot listen on " + address + " port " + port + " (management.server.address, "
                            + "management.server.port): " + ex.getMessage());
            setting.initCause(ex);
            throw setting;
        }
    }
}
