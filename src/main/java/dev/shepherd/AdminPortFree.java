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
        IOException failure = bindFailure(address, port);
        if (failure == null) {
            return;
        }
        if (inUse(failure)) {
            PortInUseException inUse = new PortInUseException(port, failure);
            // The proxy's port taken too is said in the same report, as a suppressed exception: one at a time, a new
            // user freed one port, started again and only then met the other.
            Integer proxyPort = environment.getProperty(PortLayout.PROXY_PORT, Integer.class);
            if (proxyPort != null && proxyPort > 0 && inUse(bindFailure(
                    environment.getProperty(PortLayout.PROXY_ADDRESS, "0.0.0.0"), proxyPort))) {
                inUse.addSuppressed(new PortInUseException(proxyPort));
            }
            throw inUse;
        }
        // An address not on this host, a port below 1024 without the right: said as the proxy says it, before a
        // worker runs (the servlet container's stack trace came after one had; an attacking helper's).
        InvalidSetting setting = new InvalidSetting("management.server.address and management.server.port",
                "The admin API cannot listen on " + address + " port " + port + " (management.server.address, "
                        + "management.server.port): " + failure.getMessage());
        setting.initCause(failure);
        throw setting;
    }

    /** Why {@code port} cannot be bound on {@code address}, or null when it can: bound once and let go. */
    private static IOException bindFailure(String address, int port) {
        try (Socket probe = new Socket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(address, port));
            return null;
        } catch (IOException ex) {
            return ex;
        }
    }

    private static boolean inUse(IOException failure) {
        return failure != null && failure.getMessage() != null && failure.getMessage().contains("Address already in use");
    }
}
