package dev.shepherd.fleet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What every worker of one generation runs: the command line (with the {@code {port}}, {@code {id}} and
 * {@code {index}} placeholders unresolved; empty runs the built-in demo worker), the variables added to the master's
 * environment, the directory it runs in (null: the master's) and the path of its readiness probe (empty: a TCP
 * connect). Starts as {@code fleet.worker.*} and {@code fleet.readiness.path}; a reload may give the next generation
 * another one ({@link WorkerSpecPatch}). Immutable.
 */
public record WorkerSpec(List<String> command, Map<String, String> environment, Path workingDirectory,
                         String readinessPath) {

    /**
     * What a probe path may be, here, in the configuration and in the state file: empty (a TCP connect) or a path
     * that starts with {@code /}, in visible ASCII (it goes on a request line as it is).
     */
    static final String PROBE_PATH = "|/[\\x21-\\x7E]*";

    /** How a bad probe path is told; the field's name comes before it. */
    static final String PROBE_PATH_RULE = "must be empty (a TCP connect) or a path that starts with '/', in visible "
            + "ASCII, such as \"/health\"";

    private static final java.util.regex.Pattern PROBE_PATH_PATTERN = java.util.regex.Pattern.compile(PROBE_PATH);

    static boolean isProbePath(String path) {
        return PROBE_PATH_PATTERN.matcher(path).matches();
    }

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

    /**
     * What differs from {@code before}, by name only (a variable's value may be a secret, so it never appears):
     * {@code command, environment: +FEATURE_X -OLD_VAR ~CHANGED, workingDirectory}, or {@code nothing} when the two
     * are the same.
     */
    /** The variables a change names at most, and the characters of each name shown: the events keep it, the log too. */
    static final int NAMED_CHANGES = 20;
    static final int NAME_SHOWN = 64;

    String changesFrom(WorkerSpec before) {
        List<String> changes = new ArrayList<>();
        if (!command.equals(before.command)) {
            changes.add("command");
        }
        if (!environment.equals(before.environment)) {
            StringBuilder names = new StringBuilder("environment:");
            TreeSet<String> all = new TreeSet<>(environment.keySet());
            all.addAll(before.environment.keySet());
            int named = 0;
            int more = 0;
            for (String name : all) {
                String now = environment.get(name);
                String was = before.environment.get(name);
                String change = was == null ? " +" : now == null ? " -" : !now.equals(was) ? " ~" : null;
                if (change == null) {
                    continue;
                }
                if (named == NAMED_CHANGES) {
                    more++;
                    continue;
                }
                named++;
                names.append(change).append(name.length() <= NAME_SHOWN ? name : FleetEvents.cut(name, NAME_SHOWN) + "…");
            }
            if (more > 0) {
                names.append(" and ").append(more).append(" more");
            }
            changes.add(names.toString());
        }
        if (!Objects.equals(workingDirectory, before.workingDirectory)) {
            changes.add("workingDirectory");
        }
        if (!readinessPath.equals(before.readinessPath)) {
            changes.add("readinessPath");
        }
        return changes.isEmpty() ? "nothing" : String.join(", ", changes);
    }
}
