package dev.shepherd.fleet;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What every worker of one generation runs: the command line (with the {@code {port}}, {@code {id}} and
 * {@code {index}} placeholders unresolved; empty runs the built-in demo worker), the variables added to the master's
 * environment, the directory it runs in (null: the master's) and the path of its readiness probe (empty: a TCP
 * connect). Starts as {@code fleet.worker.*} and {@code fleet.readiness.path}; a reload may give the next generation
 * another one. Immutable.
 */
public record WorkerSpec(List<String> command, Map<String, String> environment, Path workingDirectory,
                         String readinessPath) {

    public WorkerSpec {
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
        readinessPath = readinessPath == null ? "" : readinessPath;
    }

    /** The spec of the first generation: what the configuration says. */
    static WorkerSpec configured(FleetProperties properties) {
        return new WorkerSpec(properties.worker().command(), properties.worker().environment(),
                properties.worker().workingDirectory(), properties.readiness().path());
    }
}
