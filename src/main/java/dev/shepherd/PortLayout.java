package dev.shepherd;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.web.server.Ssl;
import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts each of Shepherd's two planes on the port a user expects: the proxy on {@code server.port} (default 8080)
 * and Spring MVC with Actuator, the admin plane, on {@code management.server.port} (default 8081).
 *
 * <p>The proxy is a Netty server of its own, so the servlet container only serves the admin plane. This moves the
 * user's {@code server.port}/{@code server.address} to {@code shepherd.proxy.port}/{@code shepherd.proxy.address}
 * and runs the servlet container on the management port and address, as one context.
 *
 * <p>TLS follows the same rule. {@code server.ssl.*}, the way Spring Boot users turn TLS on for {@code server.port},
 * is moved to {@code shepherd.proxy.ssl}: the proxy terminates TLS ({@code ProxyTls}). {@code
 * management.server.ssl.*}, which Actuator applies only to a management server of its own, becomes the servlet
 * container's {@code server.ssl}: TLS on the admin port; without it the servlet container gets TLS turned off, so
 * that the proxy's {@code server.ssl.*} never lands on the admin port as well.
 *
 * <p>Forwarded headers never reach the admin plane: {@code server.forward-headers-strategy} is {@code none} there
 * whatever is set (the proxy's are {@code fleet.proxy.trusted-proxies}; a Spring Boot worker takes its own in its
 * environment). With {@code native} or {@code framework} the admin port took its caller's address from
 * {@code X-Forwarded-For} or {@code Forwarded}, and an admin port without a token, which answers only its own user's
 * processes by their socket's address, let another user in as {@code 127.0.0.1} (found by an attacking helper). A
 * value set otherwise is kept as {@link #IGNORED_FORWARD_HEADERS}, for a warning; so are
 * {@code server.tomcat.remoteip.remote-ip-header} and {@code protocol-header}, which turn Tomcat's
 * {@code RemoteIpValve} on whatever the strategy.
 */
public class PortLayout implements EnvironmentPostProcessor, Ordered {

    public static final String PROXY_PORT = "shepherd.proxy.port";
    public static final String PROXY_ADDRESS = "shepherd.proxy.address";
    /** The user's {@code server.ssl.*}, bound as Spring Boot's {@link Ssl}: TLS for the proxy. */
    public static final String PROXY_SSL = "shepherd.proxy.ssl";
    static final String SOURCE = "shepherdPortLayout";
    private static final String MANAGEMENT_ADDRESS = "management.server.address";
    private static final String MANAGEMENT_SSL = "management.server.ssl";
    private static final String FORWARD_HEADERS = "server.forward-headers-strategy";
    private static final List<String> REMOTE_IP_HEADERS = List.of("server.tomcat.remoteip.remote-ip-header",
            "server.tomcat.remoteip.protocol-header");
    /** The {@code server.forward-headers-strategy} the user set, which the admin plane does not take. */
    public static final String IGNORED_FORWARD_HEADERS = "shepherd.admin.ignored-forward-headers-strategy";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        boolean shepherd = application.getAllSources().stream().anyMatch(source -> source == ShepherdApplication.class);
        if (!shepherd || environment.getPropertySources().contains(SOURCE)) {
            // Another Spring Boot application on the same classpath (a worker, a test) keeps its ports as they are.
            return;
        }
        webApplicationType(environment);
        String proxyPort = port(environment, "server.port", "8080");
        String adminPort = port(environment, "management.server.port", "8081");
        if (proxyPort.equals(adminPort) && !"0".equals(proxyPort)) {
            throw new InvalidSetting("server.port", "server.port (the proxy) and management.server.port (the admin "
                    + "API) are both " + proxyPort + "; give them different ports");
        }
        address(environment, "server.address");
        address(environment, MANAGEMENT_ADDRESS);
        Map<String, Object> layout = new HashMap<>(adminSsl(environment));
        Binder.get(environment).bind("server.ssl", Ssl.class).ifBound(ssl -> layout.put(PROXY_SSL, ssl));
        layout.put(PROXY_PORT, proxyPort);
        layout.put(PROXY_ADDRESS, environment.getProperty("server.address", "0.0.0.0"));
        layout.put("server.port", adminPort);
        layout.put("server.address", environment.getProperty(MANAGEMENT_ADDRESS, "127.0.0.1"));
        // Unset (empty) rather than equal to server.port: with port 0, equal ports would still count as different.
        layout.put("management.server.port", "");
        List<String> ignored = new ArrayList<>();
        String forwarding = Binder.get(environment).bind(FORWARD_HEADERS, String.class).orElse("none").strip();
        if (!forwarding.isEmpty() && !forwarding.equalsIgnoreCase("none")) {
            ignored.add(FORWARD_HEADERS + "=" + forwarding);
        }
        layout.put(FORWARD_HEADERS, "none");
        // Either turns Tomcat's RemoteIpValve on whatever the strategy (found by an attacking helper).
        for (String header : REMOTE_IP_HEADERS) {
            String given = Binder.get(environment).bind(header, String.class).orElse("").strip();
            if (!given.isEmpty()) {
                ignored.add(header + "=" + given);
            }
            layout.put(header, "");
        }
        if (!ignored.isEmpty()) {
            layout.put(IGNORED_FORWARD_HEADERS, String.join(", ", ignored));
        }
        hideManagementAddress(environment);
        environment.getPropertySources().addFirst(new MapPropertySource(SOURCE, layout));
    }

    /**
     * The port {@code name} gives, as a plain number from 0 to 65,535 ({@code fallback} when unset). Checked here,
     * before it moves, so that a bad one is reported under the name the user wrote (the proxy's used to fail later as
     * "port out of range", the admin's under {@code server.port}).
     *
     * @throws InvalidSetting naming the property, its value and what is allowed
     */
    private static String port(ConfigurableEnvironment environment, String name, String fallback) {
        String value = environment.getProperty(name, fallback).trim();
        try {
            int port = Integer.parseInt(value);
            if (port >= 0 && port <= 65_535) {
                return Integer.toString(port);
            }
        } catch (NumberFormatException notANumber) {
            // reported below
        }
        throw new InvalidSetting(name, name + " is '" + value + "': give a port number from 0 to 65535 (0: a free "
                + "port the system picks)" + (value.contains(",") ? REPEATED : ""));
    }

    /**
     * Checks that {@code name}, when set, is one address that resolves (a name is looked up now, as the listening
     * socket would). Two addresses joined by a comma used to stop the proxy with Netty's bare "Unresolved address".
     *
     * @throws InvalidSetting naming the property, its value and why it cannot be used
     */
    private static void address(ConfigurableEnvironment environment, String name) {
        String value = environment.getProperty(name);
        if (value == null || value.isBlank()) {
            return;
        }
        if (value.contains(",")) {
            throw new InvalidSetting(name, name + " is '" + value + "': give one address to listen on" + REPEATED);
        }
        try {
            InetAddress.getByName(value.trim());
        } catch (UnknownHostException | SecurityException unresolved) {
            throw new InvalidSetting(name, name + " is '" + value + "', which does not resolve ("
                    + unresolved.getMessage() + "); give an IP address of this machine, or a name that resolves to one");
        }
    }

    /**
     * Refuses a {@code spring.main.web-application-type} other than {@code servlet}, in any spelling Spring Boot
     * binds: the admin plane is the servlet container, and without it startup failed deep in Spring Security
     * ("required a bean of type HttpSecurity").
     *
     * @throws InvalidSetting naming the property and its value
     */
    private static void webApplicationType(ConfigurableEnvironment environment) {
        String type = Binder.get(environment).bind(WEB_APPLICATION_TYPE, String.class).orElse("servlet");
        if (!type.trim().equalsIgnoreCase("servlet")) {
            throw new InvalidSetting(WEB_APPLICATION_TYPE, WEB_APPLICATION_TYPE + " is '" + type + "': Shepherd's "
                    + "admin API and Actuator run in the servlet container on management.server.port, so Shepherd "
                    + "runs only as a servlet web application", "Remove " + WEB_APPLICATION_TYPE
                    + " (or set it to servlet).");
        }
    }

    private static final String WEB_APPLICATION_TYPE = "spring.main.web-application-type";

    private static final String REPEATED = " (a comma makes it a list of values: this setting takes one)";

    /**
     * {@code management.server.ssl.*}, bound with every relaxed spelling Spring Boot allows (environment variables
     * included), as the servlet container's {@code server.ssl}; and {@code management.server.ssl.enabled} false,
     * since Actuator refuses management-specific TLS on the servlet container's own port, where the admin plane runs.
     * Without it, a {@code server.ssl} that is turned off: a value for {@code server.ssl} itself is taken whole, so
     * the user's {@code server.ssl.*}, which are the proxy's, do not reach the servlet container.
     */
    private static Map<String, Object> adminSsl(ConfigurableEnvironment environment) {
        return Binder.get(environment).bind(MANAGEMENT_SSL, Ssl.class)
                .map(ssl -> Map.<String, Object>of("server.ssl", ssl, MANAGEMENT_SSL + ".enabled", "false"))
                .orElseGet(() -> {
                    Ssl off = new Ssl();
                    off.setEnabled(false);
                    return Map.of("server.ssl", off);
                });
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
