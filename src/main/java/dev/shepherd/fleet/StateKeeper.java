package dev.shepherd.fleet;

import dev.shepherd.Plural;
import dev.shepherd.FileProblems;
import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Keeps the fleet's desired count and worker spec in {@code fleet.state-file} across master restarts, as PM2's
 * {@code save}/{@code resurrect} do, but on every change: at start, {@link #restore} restores them over the
 * configuration; then each published snapshot whose desired count or spec differs from the last state kept is
 * written. A missing file is written at the first change, not at start, so a fleet never scaled nor reloaded keeps
 * following its configuration.
 *
 * <p>Threads: {@link #accept} runs on the supervisor's thread and only compares and hands the state over; one
 * writer thread writes, skipping to the newest state when several changes wait. {@link #close} (at shutdown) waits
 * for the last write. A write that fails logs one WARN until one succeeds again; the fleet keeps running.
 */
@Slf4j
final class StateKeeper implements Consumer<FleetSnapshot>, AutoCloseable {

    private static final long CLOSE_TIMEOUT_SECONDS = 5;

    /** Writes a state saved at an instant; {@link StateFile#write} but for tests. */
    interface Writer {
        void write(SavedState state, Instant savedAt) throws IOException;
    }

    private final Path file;
    private final Writer writer;
    private final Clock clock;
    private final ExecutorService writes;
    private final AtomicReference<SavedState> pending = new AtomicReference<>();
    private final AtomicBoolean failing = new AtomicBoolean();
    /** The last state handed to the writer (or restored at start). */
    private volatile SavedState latest;
    /** The last state the file holds for sure. */
    private volatile SavedState written;

    StateKeeper(Path file, Writer writer, Clock clock, SavedState initial) {
        this.file = file;
        this.writer = writer;
        this.clock = clock;
        this.latest = initial;
        this.written = initial;
        // No thread while nothing is to be written; at most one, so writes never overlap.
        this.writes = new ThreadPoolExecutor(0, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), runnable -> {
            Thread thread = new Thread(runnable, "fleet-state-writer");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * The configuration to run the fleet with: {@code configured} itself when {@code fleet.state-file} is unset or
     * its file does not exist yet, else the saved state over it, with one INFO line that says so.
     *
     * @throws StateFileException when the file cannot be used (see {@link StateFile#read}); nothing is written then
     */
    static FleetProperties restore(FleetProperties configured) {
        if (configured.stateFile() == null) {
            return configured;
        }
        StateFile stateFile = new StateFile(configured.stateFile());
        SavedState saved = stateFile.read(configured.maxWorkers()).orElse(null);
        if (saved == null) {
            log.info("No fleet state in {} ({}) yet: starting from the configuration; the state is saved there at "
                    + "the first scale or reload", stateFile.path(), StateFile.PROPERTY);
            return configured;
        }
        Path directory = saved.spec().workingDirectory();
        if (directory != null && !Files.isDirectory(directory)) {
            // As a missing fleet.worker.working-directory stops startup, and a reload to one is refused: no worker
            // could start, and the master would retry for ever (found by a new user's attack).
            throw new StateFileException(StateFile.PROPERTY + " " + stateFile.path() + " runs the workers in "
                    + directory + ", which " + (Files.exists(directory) ? "is not a directory" : "does not exist"),
                    "Create the directory, or fix spec.workingDirectory in the file, or delete the file to start from "
                            + "the configuration.");
        }
        // Saved before reloads refused them: each worker's own value replaced them anyway, so they go, said once.
        Set<String> perWorker = LaunchSpecs.perWorkerVariables(configured.worker().nodeAppInstance());
        List<String> dropped = saved.spec().environment().keySet().stream().filter(perWorker::contains).sorted().toList();
        if (!dropped.isEmpty()) {
            log.warn("{} {} sets {} in spec.environment, which Shepherd sets for each worker: left out (each worker got "
                    + "its own value anyway); the next scale or reload saves the state without {}", StateFile.PROPERTY,
                    stateFile.path(), String.join(", ", dropped), dropped.size() == 1 ? "it" : "them");
            Map<String, String> kept = new LinkedHashMap<>(saved.spec().environment());
            kept.keySet().removeAll(dropped);
            saved = new SavedState(saved.desired(), new WorkerSpec(saved.spec().command(), kept,
                    saved.spec().workingDirectory(), saved.spec().readinessPath()), saved.savedAt());
        }
        // A WARN when it runs other than what was configured (a typed -i, another program): a new user's start -i 1
        // ran the saved three workers with one INFO line among the startup's to say so.
        boolean differs = saved.desired() != configured.desiredWorkers()
                || !saved.spec().command().equals(configured.worker().command());
        log.atLevel(differs ? org.slf4j.event.Level.WARN : org.slf4j.event.Level.INFO).log(
                "Restoring the fleet from {} ({}, saved {}): {} running {}; this overrides fleet.workers, "
                        + "fleet.worker.command, fleet.worker.environment, fleet.worker.working-directory and "
                        + "fleet.readiness.path (delete the file to return to them)", stateFile.path(),
                StateFile.PROPERTY, saved.savedAt() == null ? "at an unknown time" : saved.savedAt(),
                Plural.of(saved.desired(), "worker"),
                saved.spec().command().isEmpty() ? "the built-in demo worker" : Secrets.command(saved.spec().command()));
        return saved.over(configured);
    }

    /**
     * A keeper of the fleet run with {@code properties} (as {@link #restore} returned them), which starts from their
     * desired count and spec; one that keeps nothing when {@code fleet.state-file} is unset.
     */
    static StateKeeper of(FleetProperties properties, Clock clock) {
        Path file = properties.stateFile() == null ? null : new StateFile(properties.stateFile()).path();
        Writer writer = file == null ? (state, savedAt) -> { } : new StateFile(file)::write;
        return new StateKeeper(file, writer, clock,
                new SavedState(properties.desiredWorkers(), WorkerSpec.configured(properties), null));
    }

    /** Hands the snapshot's desired count and spec to the writer if they changed. On the supervisor's thread. */
    @Override
    public void accept(FleetSnapshot snapshot) {
        if (file == null) {
            return;
        }
        SavedState state = SavedState.of(snapshot);
        if (state.sameAs(latest)) {
            return;
        }
        latest = state;
        if (pending.getAndSet(state) == null) {
            writes.execute(this::writePending);
        }
    }

    private void writePending() {
        SavedState state = pending.getAndSet(null);
        if (state != null) {
            write(state);
        }
    }

    private void write(SavedState state) {
        try {
            writer.write(state, clock.instant());
            written = state;
            if (failing.compareAndSet(true, false)) {
                log.info("The fleet state is saved in {} ({}) again", file, StateFile.PROPERTY);
            }
        } catch (IOException | RuntimeException ex) {
            if (failing.compareAndSet(false, true)) {
                log.warn("Cannot save the fleet state in {} ({}): {}. The fleet keeps running; a master started now "
                        + "would restore the last state saved there. Said once until a save succeeds.", file,
                        StateFile.PROPERTY, ex instanceof IOException io ? FileProblems.reason(io) : ex.toString());
            }
        }
    }

    /** Waits for the writes under way, then saves the latest state if it is not in the file yet (one more try). */
    @Override
    public void close() {
        writes.shutdown();
        try {
            if (!writes.awaitTermination(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("Saving the fleet state in {} ({}) takes longer than {} s; not waiting", file,
                        StateFile.PROPERTY, CLOSE_TIMEOUT_SECONDS);
                return;
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return;
        }
        SavedState last = latest;
        if (!last.sameAs(written)) {
            write(last);
        }
    }
}
