package dev.shepherd.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One running process of a worker, and its descendants.
 *
 * <p>Its output (stdout and stderr merged) is pumped line by line into the master's log and into the worker's
 * {@link LogBuffer} by an {@link OutputPump}, so the pipe never fills. On Linux the process gets a process group of its own and is started
 * under {@code setpriv --pdeathsig KILL} so that it dies with the master, even after {@code kill -9} of the master
 * (its descendants are then ended by the {@link OrphanGuard}). That signal follows the thread that spawned the
 * process, so spawn only from a thread that lives as long as the master.
 */
public final class WorkerProcess {

    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private final int workerId;
    private final Process process;
    private final Instant startedAt;
    private final boolean ownGroup;
    private final Set<ProcessHandle> knownDescendants = new LinkedHashSet<>();

    private WorkerProcess(int workerId, Process process, Instant startedAt, boolean ownGroup) {
        this.workerId = workerId;
        this.process = process;
        this.startedAt = startedAt;
        this.ownGroup = ownGroup;
    }

    /** Starts the process; the caller's thread becomes its parent-death anchor (see the class comment). */
    public static WorkerProcess spawn(int workerId, LaunchSpec spec, LogBuffer logs, Clock clock, int maxLineBytes)
            throws IOException {
        checkExecutable(spec);
        ProcessBuilder builder = new ProcessBuilder(wrap(spec.command()))
                .redirectErrorStream(true);
        if (spec.workingDirectory() != null) {
            builder.directory(spec.workingDirectory().toFile());
        }
        builder.environment().putAll(spec.environment());
        Process process = builder.start();
        WorkerProcess started = new WorkerProcess(workerId, process, clock.instant(), Files.isExecutable(SETSID));
        OutputPump.start(workerId, process.pid(), process.getInputStream(), logs, clock, maxLineBytes);
        return started;
    }

    /**
     * Fails like the JDK would for a program that is missing or not executable. Needed because the wrapper
     * (setpriv) would otherwise start fine and only then fail to run the program.
     */
    static void checkExecutable(LaunchSpec spec) throws IOException {
        String program = spec.command().get(0);
        Path base = spec.workingDirectory() != null ? spec.workingDirectory() : Path.of("");
        List<Path> candidates = new ArrayList<>();
        if (program.contains("/")) {
            candidates.add(base.resolve(program));
        } else {
            String path = spec.environment().getOrDefault("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
            for (String dir : path.split(java.io.File.pathSeparator)) {
                candidates.add(Path.of(dir.isEmpty() ? "." : dir, program));
            }
        }
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) {
                if (Files.isExecutable(candidate)) {
                    return;
                }
                throw new IOException("Cannot run program \"" + program + "\": " + candidate + ": Permission denied");
            }
        }
        throw new IOException("Cannot run program \"" + program + "\": No such file or directory");
    }

    /**
     * Runs the command in a session and process group of its own ({@code setsid}: a terminal's Ctrl-C does not
     * reach it, and the group holds its whole tree) under a parent-death signal ({@code setpriv}). Both exec, so
     * the worker keeps the pid the master sees. Where the tools are missing, the command runs as it is.
     */
    static List<String> wrap(List<String> command) {
        List<String> wrapped = new ArrayList<>();
        if (Files.isExecutable(SETSID)) {
            wrapped.add(SETSID.toString());
        }
        if (Files.isExecutable(SETPRIV)) {
            wrapped.addAll(List.of(SETPRIV.toString(), "--pdeathsig", "KILL", "--"));
        }
        wrapped.addAll(command);
        return wrapped;
    }

    public long pid() {
        return process.pid();
    }

    public ProcessHandle handle() {
        return process.toHandle();
    }

    public Instant startedAt() {
        return startedAt;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Completes with the exit code (128 + signal number for a process ended by a signal) when the process ends. */
    public CompletableFuture<Integer> onExit() {
        return process.onExit().thenApply(Process::exitValue);
    }

    /** Sends {@code signal} (a name such as TERM, INT, KILL) to the process and all its descendants. */
    public void signal(String signal) {
        if (ownGroup) {
            Signals.sendGroup(process.pid(), signal);
        }
        for (ProcessHandle handle : tree()) {
            send(handle, signal);
        }
    }

    /** Kills what is left of the tree, including descendants orphaned by the worker's own exit. */
    public void killTree() {
        if (ownGroup) {
            Signals.sendGroup(process.pid(), "KILL");
        }
        tree().forEach(ProcessHandle::destroyForcibly);
    }

    /** The process group that holds the worker's tree, or empty when it shares the master's. */
    public Optional<Long> processGroup() {
        return ownGroup ? Optional.of(process.pid()) : Optional.empty();
    }

    /** Remembers the current descendants, so they can still be found once the worker has exited. */
    public void recordDescendants() {
        process.toHandle().descendants().forEach(this::remember);
    }

    private synchronized void remember(ProcessHandle handle) {
        knownDescendants.add(handle);
    }

    private synchronized List<ProcessHandle> tree() {
        process.toHandle().descendants().forEach(knownDescendants::add);
        knownDescendants.removeIf(handle -> !handle.isAlive());
        List<ProcessHandle> tree = new ArrayList<>(knownDescendants);
        if (process.isAlive()) {
            tree.add(process.toHandle());
        }
        return tree;
    }

    private static void send(ProcessHandle handle, String signal) {
        switch (signal) {
            case "TERM" -> handle.destroy();
            case "KILL" -> handle.destroyForcibly();
            default -> Signals.send(handle.pid(), signal);
        }
    }

    /**
     * Resident memory of the tree, from /proc; empty where /proc is not there. Counts the descendants found by the
     * last {@link #recordDescendants()} (every liveness round): listing them afresh scans all of /proc.
     */
    public Optional<Long> residentBytes() {
        long total = 0;
        boolean found = false;
        List<ProcessHandle> tree;
        synchronized (this) {
            tree = new ArrayList<>(knownDescendants);
        }
        tree.add(process.toHandle());
        for (ProcessHandle handle : tree) {
            Optional<Long> rss = ProcFs.residentBytes(handle.pid());
            if (rss.isPresent()) {
                total += rss.get();
                found = true;
            }
        }
        return found ? Optional.of(total) : Optional.empty();
    }

    /** CPU time the worker's own process has used so far. */
    public Optional<Duration> cpuTime() {
        return process.toHandle().info().totalCpuDuration();
    }
}
