package dev.shepherd.admin;

import dev.shepherd.fleet.Generation;
import dev.shepherd.fleet.Secrets;
import dev.shepherd.fleet.WorkerSpec;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A generation's {@link WorkerSpec} as {@code GET /fleet} shows it, with secrets masked ({@link Secrets}: variables
 * named like a secret, URL passwords, secret options of the command). An empty {@code command} is the built-in demo
 * worker; a null {@code workingDirectory} the master's.
 */
record SpecView(List<String> command, Map<String, String> environment, @Schema(nullable = true) String workingDirectory,
                String readinessPath) {

    static SpecView of(WorkerSpec spec) {
        Map<String, String> environment = new TreeMap<>();
        spec.environment().forEach((name, value) -> environment.put(name, Secrets.environmentValue(name, value)));
        return new SpecView(Secrets.command(spec.command()), environment,
                spec.workingDirectory() == null ? null : spec.workingDirectory().toString(), spec.readinessPath());
    }

    /** One entry of {@code generations} in {@code GET /fleet}. */
    record GenerationView(long generation, boolean current, int workers, SpecView spec) {

        static GenerationView of(Generation generation) {
            return new GenerationView(generation.generation(), generation.current(), generation.workers(),
                    SpecView.of(generation.spec()));
        }
    }
}
