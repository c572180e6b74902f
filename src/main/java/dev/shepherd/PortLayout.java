package dev.shepherd;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import java.util.HashMap;
import java.util.LinkedHashMap;
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
    private static final String MANAGEMENT_ADDRESS = "management.server.address";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        boolean shepherd = application.getAllSources().stream().anyMatch(source -> source == ShepherdApplication.class);
        if (!shepherd || environment.getPropertySources().contains(SOURCE)) {
            // Another Spring Boot application on the same classpath (a worker, a test) keeps its ports as they are.
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
        layout.put("server.address", environment.getProperty(MANAGEMENT_ADDRESS, "127.0.0.1"));
        // Unset (empty) rather than equal to server.port: with port 0, equal ports would still count as different.
        layout.put("management.server.port", "");
        hideManagementAddress(environment);
        environment.getPropertySources().addFirst(new MapPropertySource(SOURCE, layout));
    }

    /**
     * The admin address now lives in {@code server.address}; Actuator refuses a {@code management.server.address}
     * on the servlet container's own port, and an empty value does not count as unset. So every source that
     * sets it (an environment variable MANAGEMENT_SERVER_ADDRESS included) is replaced by a copy without it.
     */
    private static void hideManagementAddress(ConfigurableEnvironment environment) {
        for (PropertySource<?> source : environment.getPropertySources().stream().toList()) {
            if (!(source instanceof EnumerablePropertySource<?> enumerable) || source.getProperty(MANAGEMENT_ADDRESS) == null) {
                continue;
            }
            boolean systemEnvironment = source instanceof SystemEnvironmentPropertySource;
            Map<String, Object> kept = new LinkedHashMap<>();
            for (String name : enumerable.getPropertyNames()) {
                boolean address = systemEnvironment
                        ? new SystemEnvironmentPropertySource("probe", Map.of(name, "")).containsProperty(MANAGEMENT_ADDRESS)
                        : name.equals(MANAGEMENT_ADDRESS);
                if (!address) {
                    kept.put(name, source.getProperty(name));
                }
            }
            environment.getPropertySources().replace(source.getName(), systemEnvironment
                    ? new SystemEnvironmentPropertySource(source.getName(), kept) : new MapPropertySource(source.getName(), kept));
        }
    }

    @Override
    public int getOrder() {
        return ConfigDataEnvironmentPostProcessor.ORDER + 10;
    }
}
