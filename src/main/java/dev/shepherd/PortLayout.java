package dev.shepherd;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import java.util.HashMap;
import java.util.Map;

/**
 * Puts each of Shepherd's two planes on the port a user expects: the proxy on {@code server.port} (default 8080)
 * and Spring MVC with Actuator, the admin plane, on {@code management.server.port} (default 8081).
 *
 * <p>The proxy is a Netty server of its own, so the servlet container only serves the admin plane. This moves the
 * user's {@code server.port}/{@code server.address} to {@code shepherd.proxy.port}/{@code shepherd.proxy.address}
 * and runs the servlet container on the management port and address, as one context.
 */
public class PortLayout implements EnvironmentPostProcessor, Ordered {

    public static final String PROXY_PORT = "shepherd.proxy.port";
    public static final String PROXY_ADDRESS = "shepherd.proxy.address";
    static final String SOURCE = "shepherdPortLayout";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (environment.getPropertySources().contains(SOURCE)) {
            return;
        }
        String proxyPort = environment.getProperty("server.port", "8080");
        String adminPort = environment.getProperty("management.server.port", "8081");
        if (proxyPort.equals(adminPort) && !"0".equals(proxyPort)) {
            throw new IllegalStateException("server.port (the proxy) and management.server.port (the admin API) are both "
                    + proxyPort + "; give them different ports");
        }
        Map<String, Object> layout = new HashMap<>();
        layout.put(PROXY_PORT, proxyPort);
        layout.put(PROXY_ADDRESS, environment.getProperty("server.address", "0.0.0.0"));
        layout.put("server.port", adminPort);
        layout.put("server.address", environment.getProperty("management.server.address", "127.0.0.1"));
        // Unset (empty) rather than equal to server.port: with port 0, equal ports would still count as different.
        layout.put("management.server.port", "");
        environment.getPropertySources().addFirst(new MapPropertySource(SOURCE, layout));
    }

    @Override
    public int getOrder() {
        return ConfigDataEnvironmentPostProcessor.ORDER + 10;
    }
}
