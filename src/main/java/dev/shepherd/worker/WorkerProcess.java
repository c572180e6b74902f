package dev.shepherd.worker;

import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One running process of a worker, and its descendants: its {@link ProcessTree}, which a signal, a kill and the
 * resident memory reach as a whole, whether the descendants detached or not.
 *
 * <p>Its stdout and its stderr are pumped line by line into the master's log and into the worker's
 * {@link LogBuffer} by an {@link OutputPump} each, so neither pipe fills, each line tagged with its stream (PM2's
 * out and err); the two share one reading budget. On Linux the process gets a session and
 * process group of its own and is started under {@code setpriv --pdeathsig KILL} so that it dies with the master,
 * even after {@code kill -9} of the master (its descendants are then ended by the {@link OrphanGuard}). That signal
 * follows the thread that spawned the process, so spawn only from a thread that lives as long as the master.
 */
@Slf4j
public final class WorkerProcess implements ChildProcess {

    /** How long after the exit the output may still be open before whoever holds it is looked for. */
    private static final long HOLDERS_AFTER_MILLIS = 1000;
    /** How many times the holders are looked for, a second apart, while the output stays open. */
    private static final int HOLDER_ROUNDS = 5;

    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private final Process process;
    private final Instant startedAt;
    private final boolean ownGroup;
    private final ProcessTree tree;
    private final CompletableFuture<Void> outputEnded;
    private final int workerId;
    /** The pipes its stdout and stderr go to, as /proc names them ({@code pipe:[4242]}); those that are known. */
    private final List<String> outputPipes;
    private final AtomicBoolean holdersLookedFor = new AtomicBoolean();

    private WorkerProcess(Process process, Instant startedAt, boolean ownGroup, ProcessTree tree,
                          CompletableFuture<Void> outputEnded, int workerId, List<String> outputPipes) {
        this.process = process;
        this.startedAt = startedAt;
        this.ownGroup = ownGroup;
        this.tree = tree;
        this.outputEnded = outputEnded;
        this.workerId = workerId;
        this.outputPipes = outputPipes;
    }

    /**
     * Starts the process in a tree of its own ({@link ProcessTrees}); the caller's thread becomes its parent-death
     * anchor (see the class comment). Its output goes to {@code logs} and the master's log within {@code limits}.
     */
    public static WorkerProcess spawn(int workerId, LaunchSpec spec, LogBuffer logs, Clock clock, ProcessTrees trees,
                                      OutputLimits limits) throws IOException {
        return spawn(workerId, spec, logs, clock, trees, limits, ProcessBuilder::start, Thread::start);
    }

    /** How {@link #spawn} starts a process: {@link ProcessBuilder#start()}, but for tests of its failures. */
    @FunctionalInterface
    interface Starter {
        Process start(ProcessBuilder builder) throws IOException;
    }

    /**
     * As {@link #spawn(int, LaunchSpec, LogBuffer, Clock, ProcessTrees, OutputLimits)}, the process started by
     * {@code starter} and the outputs' threads by {@code pumpStarter}: when either runs out of threads (the JDK's
     * {@link OutOfMemoryError}), what was started is killed and this throws an {@link IOException}.
     */
    static WorkerProcess spawn(int workerId, LaunchSpec spec, LogBuffer logs, Clock clock, ProcessTrees trees,
                               OutputLimits limits, Starter starter, java.util.function.Consumer<Thread> pumpStarter)
            throws IOException {
        checkExecutable(spec);
        ProcessTrees.Launch launch = trees.prepare(workerId);
        ProcessBuilder builder = new ProcessBuilder(launch.wrap(wrap(spec.command())));
        if (spec.workingDirectory() != null) {
            builder.directory(spec.workingDirectory().toFile());
        }
        builder.environment().keySet().removeAll(spec.removed());
        builder.environment().putAll(spec.environment());
        builder.environment().put(ProcessTrees.MARKER, launch.marker());
        Process process;
        try {
            process = starter.start(builder);
        } catch (IOException ex) {
            trees.abandon(launch);
            // EAGAIN from fork: the same limit as a thread that cannot start.
            throw String.valueOf(ex.getMessage()).contains("error=11,")
                    ? new IOException(ex.getMessage() + " (" + OutOfThreads.LIMITS + ")", ex) : ex;
        } catch (RuntimeException ex) {
            trees.abandon(launch);
            throw ex;
        } catch (OutOfMemoryError ex) {
            // The JDK forked the process, then could not start the thread that waits for it: no Process to end it
            // by, so its launch's group or marker finds it.
            trees.killLaunched(launch);
            throw new IOException(ex.getMessage() + " (" + OutOfThreads.LIMITS + ")", ex);
        }
        ProcessTree tree = trees.attach(launch, process);
        // Read at once, while the process (or the wrapper that execs into it) still has the pipes as its stdout and
        // stderr.
        List<String> outputPipes = new ArrayList<>(2);
        for (int descriptor = 1; descriptor <= 2; descriptor++) {
            ProcFs.descriptor(process.pid(), descriptor).filter(target -> target.startsWith("pipe:")).ifPresent(outputPipes::add);
        }
        CompletableFuture<Void> outputEnded;
        try {
            OutputBudget budget = limits.budget();
            CompletableFuture<Void> out = OutputPump.start(workerId, process.pid(), LogBuffer.Stream.STDOUT,
                    process.getInputStream(), logs, clock, limits, budget, pumpStarter);
            CompletableFuture<Void> err = OutputPump.start(workerId, process.pid(), LogBuffer.Stream.STDERR,
                    process.getErrorStream(), logs, clock, limits, budget, pumpStarter);
            outputEnded = CompletableFuture.allOf(out, err);
        } catch (OutOfMemoryError | RuntimeException ex) {
            // No thread reads its output: it would fill the pipe and block, unseen; ended here, its spawn fails and
            // is retried with backoff.
            tree.kill();
            process.destroyForcibly();
            trees.released(tree);
            throw new IOException("cannot start the thread that reads its output: " + ex.getMessage()
                    + (OutOfThreads.causedIt(ex) ? " (" + OutOfThreads.LIMITS + ")" : ""), ex);
        }
        return new WorkerProcess(process, clock.instant(), Files.isExecutable(SETSID), tree, outputEnded, workerId,
                List.copyOf(outputPipes));
    }

    /**
     * Fails like the JDK would for a program that is missing or not executable, and names a working directory that
     * is missing. Needed because the wrapper (setpriv) would otherwise start fine and only then fail to run the
     * program.
     */
    static void checkExecutable(LaunchSpec spec) throws IOException {
        String program = spec.command().get(0);
        if (spec.workingDirectory() != null && !Files.isDirectory(spec.workingDirectory())) {
            // The JDK's own words name the shell or wrapper it ran, not the directory ("Cannot run program
            // "/bin/sh" (in directory ...)"), which reads as if the program were missing.
            throw new IOException("the working directory " + spec.workingDirectory() + " does not exist or is not a "
                    + "directory");
        }
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
        // "python3 app.py" as one string is a program of that name (PM2 users type pm2 start "python3 app.py"): found
        // by a new user's attack, retried for ever with a log line that read like a two-element list.
        throw new IOException("Cannot run program \"" + program + "\": No such file or directory" + (program.contains(" ")
                ? " (the command is a list, one element per argument: python3,app.py on the command line, a YAML list "
                + "in a file; one string with spaces is one program's name)" : ""));
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

    @Override
    public long pid() {
        return process.pid();
    }

    @Override
    public ProcessHandle handle() {
        return process.toHandle();
    }

    @Override
    public Instant startedAt() {
        return startedAt;
    }

    @Override
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Completes with the exit code (128 + signal number for a process ended by a signal) when the process ends. */
    @Override
    public CompletableFuture<Integer> onExit() {
        return process.onExit().thenApply(Process::exitValue);
    }

    @Override
    public CompletableFuture<Void> outputEnded() {
        return outputEnded;
    }

    /** Sends {@code signal} (a name such as TERM, INT, KILL) to the process and all its descendants. */
    @Override
    public void signal(String signal) {
        tree.signal(signal);
    }

    /**
     * {@inheritDoc} Through the system's {@code kill} command for any signal but TERM and KILL, as {@link Signals}
     * sends them; the process started is the program itself (setsid, setpriv and the cgroup wrapper exec into it).
     */
    @Override
    public boolean signalProcess(String signal) {
        return process.isAlive() && Signals.deliver(process.toHandle(), signal);
    }

    /** {@inheritDoc} The members of the tree known now, each looked up in {@code /proc}. */
    @Override
    public void signalExit(String signal) {
        tree.signal(signal);
        if (!signal.equals("KILL")) {
            Signals.send(tree.knownMembers().stream().filter(member -> ProcFs.stopped(member.pid())).toList(), "CONT");
        }
    }

    /**
     * Kills what is left of the tree, including descendants orphaned or detached by the worker; and, a second after
     * the exit, if the output is still open, whatever process holds it: a descendant that left the tree unseen (a
     * new session, a cleared environment, its parent gone between two scans) and kept the worker's stdout. It would
     * have lived on, and kept the master's reading thread and pipe for ever: an attacking helper's worker that left
     * one such at each crash took the master from 28 to 533 descriptors and 51 to 388 threads in 169 restarts.
     * Looked for again each second, {@value #HOLDER_ROUNDS} times at most, for a holder that forked meanwhile.
     */
    @Override
    public void killTree() {
        tree.kill();
        if (!outputPipes.isEmpty() && !outputEnded.isDone() && holdersLookedFor.compareAndSet(false, true)) {
            process.onExit().thenRun(() -> killOutputHolders(HOLDER_ROUNDS));
        }
    }

    private void killOutputHolders(int roundsLeft) {
        CompletableFuture.delayedExecutor(HOLDERS_AFTER_MILLIS, TimeUnit.MILLISECONDS).execute(() -> {
            killOutputHoldersNow();
            if (roundsLeft > 1 && !outputEnded.isDone()) {
                killOutputHolders(roundsLeft - 1);
            }
        });
    }

    /**
     * Kills now, on the calling thread, the escaped descendants that still hold the output of this exited process
     * ({@link #holders}): the master's last step at a clean stop, where the delayed rounds of {@link #killTree} would
     * never run (an attacking helper's descendant outlived the stop so).
     */
    public void killOutputHoldersNow() {
        if (outputPipes.isEmpty() || outputEnded.isDone() || process.isAlive()) {
            return;
        }
        holders().forEach(handle -> {
            log.warn("Killing pid {} ({}): it still held the output of worker {} (pid {}) after that exited, a "
                    + "descendant that had left its tree", handle.pid(), handle.info().command().orElse("?"),
                    workerId, process.pid());
            handle.destroyForcibly();
        });
    }

    /**
     * The processes that hold the output pipe and can only be the worker's escaped descendants: started after it,
     * and orphans (their parent is init, or another such holder, as the worker's exit left them), so never a child
     * of the master, whose process being spawned holds every descriptor of the master, this pipe's read end among
     * them, until it closes them before its exec (a reviewing helper's experiment killed spawns that way), nor a
     * process with a live parent of its own that opened the pipe through /proc (an attacking helper's {@code sleep}
     * was killed so). Where orphans go to a subreaper rather than init (a {@code systemd --user} session), none is
     * found: the thread and the pipe stay, as before.
     */
    private java.util.List<ProcessHandle> holders() {
        java.time.Instant started = process.toHandle().info().startInstant().orElse(null);
        java.util.List<ProcessHandle> all = outputPipes.stream().flatMap(pipe -> ProcFs.holders(pipe).stream())
                .distinct().map(ProcessHandle::of)
                .flatMap(Optional::stream)
                .filter(handle -> started == null || handle.info().startInstant().map(at -> !at.isBefore(started))
                        .orElse(false))
                .toList();
        java.util.Set<Long> pids = new java.util.HashSet<>();
        all.forEach(handle -> pids.add(handle.pid()));
        return all.stream().filter(handle -> orphanedHolder(handle, pids)).toList();
    }

    /** Whether {@code handle}'s parent is init, or a holder whose own chain of holders reaches init. */
    private static boolean orphanedHolder(ProcessHandle handle, java.util.Set<Long> holders) {
        ProcessHandle at = handle;
        for (int depth = 0; depth < 64; depth++) {
            Optional<ProcessHandle> parent = at.parent();
            if (parent.isEmpty()) {
                return false;
            }
            if (parent.get().pid() == 1) {
                return true;
            }
            if (!holders.contains(parent.get().pid())) {
                return false;
            }
            at = parent.get();
        }
        return false;
    }

    /** After {@link #killTree()} once the process has exited: gives back its cgroup, now or at a later sweep. */
    public void release(ProcessTrees trees) {
        trees.released(tree);
    }

    /** The process group that holds the worker's tree, or empty when it shares the master's. */
    public Optional<Long> processGroup() {
        return ownGroup ? Optional.of(process.pid()) : Optional.empty();
    }

    ProcessTree tree() {
        return tree;
    }

    /**
     * A worker of the same user can read a starting worker's {@code PORT} from /proc and bind it first: the readiness
     * probe passed on the impostor, which then took the slot's traffic while the real worker crashed on
     * {@code EADDRINUSE} (found by an attacking helper). A listener none of the tree's processes holds is not the
     * worker's.
     */
    @Override
    public Optional<String> foreignListener(int port) {
        if (!ProcFs.available()) {
            return Optional.empty();
        }
        ProcFs.Listeners found = ProcFs.listeners(port);
        Set<Long> own = new HashSet<>();
        for (ProcessHandle member : tree.members()) {
            Set<Long> held = ProcFs.sockets(member.pid());
            held.retainAll(found.all());
            own.addAll(held);
        }
        Set<Long> foreign = ProcFs.foreign(found, own);
        if (foreign.isEmpty()) {
            // None: what answered the probe closed its socket since, one that lets go to pass the check and binds
            // again (found by an attacking helper) is not the worker either.
            return own.isEmpty() ? Optional.of(NO_LISTENER) : Optional.empty();
        }
        String socket = "socket:[" + foreign.iterator().next() + "]";
        return Optional.of(ProcFs.holders(socket, true).stream().findFirst()
                .map(pid -> "pid " + pid + " (" + ProcFs.command(pid) + ")")
                .orElse("a process this master cannot see (" + socket + ")"));
    }

    /** From the tree's members known without a scan of /proc: its cgroup's, or those the last periodic scan found. */
    @Override
    public List<ListeningSocket> listeningSockets() {
        return TcpListeners.of(tree.knownMembers());
    }

    /** Those of the tree's members alive, its own process left out, and neither dead nor exiting. */
    @Override
    public List<String> survivors(int limit) {
        if (!ProcFs.available()) {
            return List.of();
        }
        return tree.members().stream().filter(member -> member.pid() != process.pid() && member.isAlive()
                        && !ProcFs.exitedNotReaped(member.pid()))
                .limit(limit).map(member -> "pid " + member.pid() + " (" + ProcFs.command(member.pid()) + ")").toList();
    }

    /**
     * Resident memory of the tree, from /proc; empty where /proc is not there. Counts the members known without a
     * scan of /proc: its cgroup's, or the descendants the last periodic scan found.
     */
    @Override
    public Optional<Long> residentBytes() {
        long total = 0;
        boolean found = false;
        for (ProcessHandle handle : tree.knownMembers()) {
            Optional<Long> rss = ProcFs.residentBytes(handle.pid());
            if (rss.isPresent()) {
                total += rss.get();
                found = true;
            }
        }
        return found ? Optional.of(total) : Optional.empty();
    }

    /** CPU time the worker's own process has used so far. */
    @Override
    public Optional<Duration> cpuTime() {
        return process.toHandle().info().totalCpuDuration();
    }

    @Override
    public String toString() {
        return "pid " + process.pid() + " (" + tree + ")";
    }
}
