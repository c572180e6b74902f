package dev.shepherd.fleet;

import dev.shepherd.InvalidSetting;
import dev.shepherd.MasterVariables;
import dev.shepherd.TerminalText;
import dev.shepherd.demo.DemoWorker;
import dev.shepherd.worker.LaunchSpec;
import dev.shepherd.worker.ProcessTrees;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a generation's {@link WorkerSpec} into the command line of one worker process. The configured command is
 * checked once at startup, so an unknown placeholder fails there, naming the property; a reload's is checked by
 * {@link WorkerSpecPatch}.
 */
final class LaunchSpecs {

    private static final String NODE_APP_INSTANCE = "NODE_APP_INSTANCE";

    /**
     * The variables Shepherd gives each worker a value of its own for, {@code NODE_APP_INSTANCE} too while
     * {@code fleet.worker.node-app-instance} is on: a value in {@code fleet.worker.environment} or a reload's
     * environment would be replaced without a word, so both refuse them ({@code {port}}, {@code {id}} and
     * {@code {index}} put the same values in arguments).
     */
    private static final List<String> PER_WORKER_VARIABLES = List.of("PORT", "SHEPHERD_WORKER_ID",
            "SHEPHERD_WORKER_INDEX", "SHEPHERD_WORKER_COUNT", ProcessTrees.MARKER, NODE_APP_INSTANCE);

    /** Where a class inside Spring Boot's executable jar comes from: the jar's path. */
    private static final Pattern NESTED = Pattern.compile("nested:(.*?\\.jar)");

    private static final Logger log = LoggerFactory.getLogger(LaunchSpecs.class);

    private final FleetProperties properties;
    private final Set<String> perWorkerVariables;
    private final Set<String> withheld;
    private final Map<String, MasterVariables.JvmOptions> jvmOptions;

    /** For the master's own environment: workers inherit it, but for the variables that configure the master. */
    LaunchSpecs(FleetProperties properties) {
        this(properties, MasterVariables.in(System.getenv()), MasterVariables.jvmOptions(System.getenv()));
        if (!withheld.isEmpty()) {
            log.info("Workers do not inherit {}: they configure Shepherd (a Spring Boot worker would take them for its "
                    + "own); fleet.worker.environment gives a worker any of them",
                    TerminalText.safe(String.join(", ", new TreeSet<>(withheld))));
        }
        jvmOptions.forEach((variable, options) -> log.info("Workers inherit {} without {}{}: they configure Shepherd (a "
                + "Spring Boot worker would take them for its own); fleet.worker.environment.{} gives workers a value "
                + "of their own", variable, TerminalText.safe(options.removed().stream().map(name -> "-D" + name)
                .collect(Collectors.joining(", "))), options.value().isEmpty() ? ", which leaves nothing: not at all"
                : "", variable));
    }

    /**
     * {@code withheld}: the variables of the master's environment that no worker inherits, unless its generation's
     * environment sets them ({@link MasterVariables}).
     */
    LaunchSpecs(FleetProperties properties, Set<String> withheld) {
        this(properties, withheld, Map.of());
    }

    /**
     * As {@link #LaunchSpecs(FleetProperties, Set)}, and {@code jvmOptions}: the master's JVM option variables that
     * workers inherit with other values, unless their generation's environment sets them
     * ({@link MasterVariables#jvmOptions}).
     */
    LaunchSpecs(FleetProperties properties, Set<String> withheld, Map<String, MasterVariables.JvmOptions> jvmOptions) {
        this.properties = properties;
        this.withheld = Set.copyOf(withheld);
        this.jvmOptions = Map.copyOf(jvmOptions);
        this.perWorkerVariables = perWorkerVariables(properties.worker().nodeAppInstance());
        List<String> command = properties.worker().command();
        if (!command.isEmpty() && (command.get(0) == null || command.get(0).isBlank())) {
            // Refused here as a reload's command and the state file's are: started, it failed to spawn for ever.
            throw new InvalidSetting("fleet.worker.command", "fleet.worker.command[0] is blank: the first element "
                    + "names the program, such as node,server.js (left out, the built-in demo worker runs)");
        }
        Placeholders.unknownIn(command, "fleet.worker.command").ifPresent(unknown -> {
            throw new InvalidSetting("fleet.worker.command", unknown);
        });
        properties.worker().environment().keySet().stream().filter(perWorkerVariables::contains).sorted().findFirst()
                .ifPresent(name -> {
                    String property = "fleet.worker.environment." + name;
                    throw new InvalidSetting(property, refusal(property, name), "Remove " + property
                            + (name.equals(NODE_APP_INSTANCE) ? ", or set fleet.worker.node-app-instance=false." : "."));
                });
    }

    /** The variables Shepherd sets for each worker, {@code NODE_APP_INSTANCE} among them when {@code nodeAppInstance}. */
    static Set<String> perWorkerVariables(boolean nodeAppInstance) {
        return Set.copyOf(nodeAppInstance ? PER_WORKER_VARIABLES
                : PER_WORKER_VARIABLES.subList(0, PER_WORKER_VARIABLES.size() - 1));
    }

    /**
     * Checks that {@code environment}, the variables a reload sets (null: removes), sets none of those Shepherd sets
     * for each worker.
     *
     * @throws FleetExceptions.InvalidSpecException naming the first such variable
     */
    void checkReloadEnvironment(Map<String, String> environment) {
        environment.entrySet().stream().filter(variable -> variable.getValue() != null)
                .map(Map.Entry::getKey).filter(perWorkerVariables::contains).sorted().findFirst().ifPresent(name -> {
                    throw new FleetExceptions.InvalidSpecException(refusal("environment", name));
                });
    }

    private String refusal(String field, String name) {
        return field + " sets " + name + ", which Shepherd sets for each worker ("
                + PER_WORKER_VARIABLES.stream().filter(perWorkerVariables::contains).collect(Collectors.joining(", "))
                + (name.equals(NODE_APP_INSTANCE) ? " while fleet.worker.node-app-instance is on" : "")
                + "): leave it out";
    }

    /**
     * The command line and environment of one worker process of a generation that runs {@code spec}: its port, id
     * and index (see {@link WorkerIndexes}) and the desired worker count at spawn time, as variables and as
     * placeholders in the arguments.
     */
    LaunchSpec forWorker(WorkerSpec spec, int workerId, int index, int count, int port) {
        Map<String, String> environment = new HashMap<>(spec.environment());
        environment.put("PORT", Integer.toString(port));
        environment.put("SHEPHERD_WORKER_ID", Integer.toString(workerId));
        environment.put("SHEPHERD_WORKER_INDEX", Integer.toString(index));
        environment.put("SHEPHERD_WORKER_COUNT", Integer.toString(count));
        Set<String> removed = new HashSet<>(withheld);
        jvmOptions.forEach((variable, options) -> {
            if (!spec.environment().containsKey(variable)) {
                if (options.value().isEmpty()) {
                    removed.add(variable);
                } else {
                    environment.put(variable, options.value());
                }
            }
        });
        if (properties.worker().nodeAppInstance()) {
            environment.put(NODE_APP_INSTANCE, Integer.toString(index));
        } else {
            // Off, a value the master inherited (run under PM2, say) must not reach every worker alike: taken out.
            removed.add(NODE_APP_INSTANCE);
        }
        removed.removeAll(environment.keySet());
        if (spec.command().isEmpty()) {
            environment.put("SHEPHERD_DEMO_WORK", Long.toString(properties.demo().work()));
            if (properties.demo().crashWithin() != null) {
                environment.put("SHEPHERD_DEMO_CRASH_WITHIN_MS", Long.toString(properties.demo().crashWithin().toMillis()));
            }
            return new LaunchSpec(demoCommand(), spec.workingDirectory(), environment, removed);
        }
        List<String> command = spec.command().stream()
                .map(arg -> arg.replace("{port}", Integer.toString(port)).replace("{id}", Integer.toString(workerId))
                        .replace("{index}", Integer.toString(index)))
                .toList();
        return new LaunchSpec(command, spec.workingDirectory(), environment, removed);
    }

    /**
     * The demo worker in a small JVM: {@code -jar shepherd.jar worker} inside Spring Boot's executable jar, where its
     * class is nested; else {@code -cp} the directory or plain jar that holds {@link DemoWorker}, which needs nothing
     * but the JDK (development's {@code target/classes}, the Docker image's extracted application jar, a jar of the
     * classes that has no {@code Main-Class}).
     */
    static List<String> demoCommand() {
        return demoCommand(demoWorkerLocation());
    }

    /** {@link #demoCommand()} for {@link DemoWorker}'s code source at {@code location}. */
    static List<String> demoCommand(URI location) {
        List<String> command = new ArrayList<>(List.of(javaBinary(), "-XX:+UseSerialGC", "-Xms8m", "-Xmx64m",
                "-Xss512k", "-XX:+ExitOnOutOfMemoryError"));
        // Inside a Spring Boot jar the location is nested ("jar:nested:/app/shepherd.jar/!BOOT-INF/classes/!/").
        Matcher nested = NESTED.matcher(location.toString());
        if (nested.find()) {
            command.addAll(List.of("-jar", Path.of(nested.group(1)).toString(), "worker"));
        } else {
            command.addAll(List.of("-cp", Path.of(location).toString(), DemoWorker.class.getName()));
        }
        return command;
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static URI demoWorkerLocation() {
        try {
            return DemoWorker.class.getProtectionDomain().getCodeSource().getLocation().toURI();
        } catch (URISyntaxException ex) {
            throw new IllegalStateException("Cannot locate the demo worker's classes", ex);
        }
    }
}
