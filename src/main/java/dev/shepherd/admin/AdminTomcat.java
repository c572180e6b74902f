package dev.shepherd.admin;

import dev.shepherd.fleet.FleetProperties;
import lombok.extern.slf4j.Slf4j;
import org.apache.catalina.Valve;
import org.springframework.boot.thread.Threading;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

import java.util.ArrayList;
import java.util.List;

/**
 * The admin port's Tomcat speaks {@link AdminHttpProtocol}: Tomcat's NIO protocol with
 * {@code fleet.admin.max-connections-per-client}. On platform threads (Java 17 to 20) it warns at startup when the
 * port has fewer request threads than connections: a connection holds its thread while its client sends a body
 * slowly, a refused one too, so fewer threads can all be held from outside, health included.
 */
@Slf4j
@Component
class AdminTomcat implements WebServerFactoryCustomizer<TomcatWebServerFactory> {

    static final String THREADS = "server.tomcat.threads.max";
    static final String CONNECTIONS = "server.tomcat.max-connections";
    /** Spring Boot's defaults, where neither Shepherd's defaults nor the operator give one. */
    private static final int BOOT_THREADS = 200;
    private static final int BOOT_CONNECTIONS = 8192;

    private final FleetProperties properties;
    private final Environment environment;

    AdminTomcat(FleetProperties properties, Environment environment) {
        this.properties = properties;
        this.environment = environment;
    }

    @Override
    public void customize(TomcatWebServerFactory factory) {
        String warning = fewerThreadsThanConnections(Threading.PLATFORM.isActive(environment),
                environment.getProperty(THREADS, Integer.class, BOOT_THREADS),
                environment.getProperty(CONNECTIONS, Integer.class, BOOT_CONNECTIONS));
        if (warning != null) {
            log.warn(warning);
        }
        factory.setProtocol(AdminHttpProtocol.class.getName());
        // First, before any valve that reads a header in the connection's place (RemoteIpValve).
        List<Valve> valves = new ArrayList<>(factory.getEngineValves());
        valves.add(0, new SocketPeerValve());
        factory.setEngineValves(valves);
        int max = properties.admin().maxConnectionsPerClient();
        factory.addProtocolHandlerCustomizers(handler -> {
            if (handler instanceof AdminHttpProtocol admin) {
                admin.setMaxConnectionsPerClient(max);
            }
        });
    }

    /**
     * The warning when {@code threads} request threads serve up to {@code connections} connections (0 or less: no
     * limit, as Tomcat takes -1), on platform threads when {@code platformThreads}; null when there is nothing to
     * warn of.
     */
    static String fewerThreadsThanConnections(boolean platformThreads, int threads, int connections) {
        boolean unlimited = connections <= 0;
        if (!platformThreads || !unlimited && threads >= connections) {
            return null;
        }
        return THREADS + " (" + threads + ") is below " + CONNECTIONS + " (" + (unlimited ? "no limit: " + connections
                : connections) + "): on Java 17 to 20 "
                + "a connection holds a request thread while its client sends a body slowly, also after a refusal, so "
                + "clients without the token can hold every thread and the admin port, health included, stops "
                + "answering; give it at least as many threads, or run on Java 21+ (virtual threads)";
    }
}
