package dev.shepherd.worker;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What to run for one process of a worker: the command line (placeholders already resolved), the directory it
 * runs in (null: the master's) and the variables added to the master's environment.
 */
public record LaunchSpec(List<String> command, Path workingDirectory, Map<String, String> environment) {

    public LaunchSpec {
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
    }
}
