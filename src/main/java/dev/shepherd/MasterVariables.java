package dev.shepherd;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The variables of the master's environment that configure Shepherd itself, which workers do not inherit: those that
 * set a {@code fleet.*} setting, a {@code server.*} or {@code management.*} setting of Spring Boot's (the proxy's and
 * the admin port's ports, addresses and TLS), point Spring Boot at the master's configuration or log files
 * ({@code SPRING_APPLICATION_JSON}, {@code SPRING_CONFIG_*}, {@code LOGGING_FILE_NAME}, {@code LOGGING_FILE_PATH},
 * {@code LOGGING_CONFIG}), in every spelling Spring Boot binds, or are the command line's admin token and URL
 * ({@code SHEPHERD_ADMIN_TOKEN}, {@code SHEPHERD_ADMIN_TOKEN_FILE}, {@code SHEPHERD_ADMIN_URL}). A
 * worker that is itself a Spring Boot application reads the same names: with the master's
 * {@code MANAGEMENT_SERVER_PORT} it bound the master's admin port and failed to start, with its {@code SERVER_SSL_*}
 * it served TLS to a proxy that speaks plain HTTP to it; and an app that prints its environment printed
 * {@code FLEET_ADMIN_TOKEN}. Other variables (Kubernetes' {@code FLEET_SERVICE_HOST} for a Service named
 * {@code fleet}, {@code SERVER_URL}, which is no setting) are inherited as before. {@code fleet.worker.environment}
 * gives a worker any of them back.
 */
public final class MasterVariables {

    /** A list's type as the metadata writes it: an index may follow its name ({@code SPRING_CONFIG_IMPORT_0}). */
    private static final String LIST = "java.util.List<java.lang.String>";

    /** The settings outside {@code fleet.*}, {@code server.*} and {@code management.*} that carry the master's configuration. */
    private static final Map<String, String> CONFIGURATION_SOURCES = Map.ofEntries(
            Map.entry("spring.application.json", ""), Map.entry("spring.config.location", LIST),
            Map.entry("spring.config.additional-location", LIST), Map.entry("spring.config.import", LIST),
            Map.entry("spring.config.name", LIST), Map.entry("spring.config.on-not-found", ""),
            // The master's log files: a Spring Boot worker would write them too.
            Map.entry("logging.file.name", ""), Map.entry("logging.file.path", ""), Map.entry("logging.config", ""),
            // The command line's own: the admin token, and where to send it.
            Map.entry("shepherd.admin.token", ""), Map.entry("shepherd.admin.token-file", ""),
            Map.entry("shepherd.admin.url", ""));

    private MasterVariables() {
    }

    /** The names of {@code environment}'s variables that configure the master, sorted; read on the calling thread. */
    public static Set<String> in(Map<String, String> environment) {
        return in(environment, Settings.ALL);
    }

    /**
     * As {@link #in(Map)}, among {@code settings}: each setting's name and its Java type as the configuration
     * metadata writes it (a map's or a list's name takes a key or an index after it).
     */
    static Set<String> in(Map<String, String> environment, Map<String, String> settings) {
        Set<String> master = new TreeSet<>();
        for (String name : environment.keySet()) {
            // Spring Boot binds server.port, server_port and FLEET_WORKER_COMMAND[0] from the environment too.
            if (UnknownVariables.binds(UnknownVariables.asSpelling(name), settings)) {
                master.add(name);
            }
        }
        return master;
    }

    /** Every setting the master reads, with its type: its own, and Spring Boot's above, from the class path's metadata. */
    private static final class Settings {

        static final Map<String, String> ALL = all();

        private static Map<String, String> all() {
            Map<String, String> all = new TreeMap<>(KnownSettings.types());
            UnknownSpringSettings.Metadata spring = UnknownSpringSettings.metadata(MasterVariables.class.getClassLoader());
            spring.known().forEach(name -> all.put(name, spring.containers().contains(name) ? "java.util.Map<>" : ""));
            all.putAll(CONFIGURATION_SOURCES);
            return all;
        }
    }
}
