package dev.shepherd;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
 *
 * <p>The same holds for a system property in the variables every JVM reads its options from
 * ({@link #JVM_OPTIONS}): {@code JAVA_TOOL_OPTIONS="-Dserver.port=9000"} made every Spring Boot worker bind port 9000,
 * and {@code -Dfleet.admin.token=...} there reached every JVM worker. Workers get those variables without such
 * options ({@link #jvmOptions}).
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

    /**
     * The variables that hold options for every JVM started with them: read by the JVM itself
     * ({@code JAVA_TOOL_OPTIONS}, {@code _JAVA_OPTIONS}), by the {@code java} launcher ({@code JDK_JAVA_OPTIONS}), and
     * by launch scripts, {@code bin/shepherd start} among them ({@code JAVA_OPTS}).
     */
    public static final List<String> JVM_OPTIONS = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS",
            "JAVA_OPTS");

    private MasterVariables() {
    }

    /**
     * A variable of {@link #JVM_OPTIONS} as workers get it: {@code value} is the master's without {@code removed},
     * the {@code -D} options that set a setting of the master's (their property names, never their values, are in
     * {@code removed}); an empty {@code value} means no option is left, and the variable is left out.
     */
    public record JvmOptions(String value, List<String> removed) {
    }

    /**
     * The variables of {@link #JVM_OPTIONS} in {@code environment} that set a setting of the master's with a
     * {@code -D} option (in any spelling Spring Boot binds), as workers get them, by variable name; read on the
     * calling thread. Options are split as the JVM splits them: on white space, except inside single or double
     * quotes; the others are kept as written.
     */
    public static Map<String, JvmOptions> jvmOptions(Map<String, String> environment) {
        return jvmOptions(environment, Settings.ALL);
    }

    static Map<String, JvmOptions> jvmOptions(Map<String, String> environment, Map<String, String> settings) {
        Map<String, JvmOptions> rewritten = new LinkedHashMap<>();
        for (String variable : JVM_OPTIONS) {
            String options = environment.get(variable);
            if (options == null) {
                continue;
            }
            List<String> kept = new ArrayList<>();
            List<String> removed = new ArrayList<>();
            for (String option : options(options)) {
                String unquoted = option.replace("\"", "").replace("'", "");
                String property = unquoted.startsWith("-D") ? unquoted.substring(2).split("=", 2)[0] : "";
                if (!property.isBlank() && UnknownVariables.binds(UnknownVariables.asSpelling(property), settings)) {
                    removed.add(property);
                } else {
                    kept.add(option);
                }
            }
            if (!removed.isEmpty()) {
                rewritten.put(variable, new JvmOptions(String.join(" ", kept), List.copyOf(removed)));
            }
        }
        return rewritten;
    }

    /** {@code options} split on white space outside quotes, each option as written, its quotes included. */
    static List<String> options(String options) {
        List<String> split = new ArrayList<>();
        StringBuilder option = new StringBuilder();
        char quote = 0;
        for (int i = 0; i < options.length(); i++) {
            char c = options.charAt(i);
            if (quote == 0 && Character.isWhitespace(c)) {
                if (!option.isEmpty()) {
                    split.add(option.toString());
                    option.setLength(0);
                }
                continue;
            }
            if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (c == quote) {
                quote = 0;
            }
            option.append(c);
        }
        if (!option.isEmpty()) {
            split.add(option.toString());
        }
        return split;
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
