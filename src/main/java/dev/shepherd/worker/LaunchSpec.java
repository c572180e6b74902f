package dev.shepherd.worker;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What to run for one process of a worker: the command line (placeholders already resolved), the directory it
 * runs in (null: the master's), the variables added to the master's environment and those taken out of it (a
 * {@code NODE_APP_INSTANCE} the master inherited from PM2, say, when the fleet gives workers none).
 */
public record LaunchSpec(List<String> command, Path workingDirectory, Map<String, String> environment,
                         Set<String> removed) {

    public LaunchSpec {
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
        removed = Set.copyOf(removed);
    }

    public LaunchSpec(List<String> command, Path workingDirectory, Map<String, String> environment) {
        this(command, workingDirectory, environment, Set.of());
    }
}
