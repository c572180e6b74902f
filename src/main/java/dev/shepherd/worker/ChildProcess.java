package dev.shepherd.worker;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One started process of a worker, as the fleet sees it: {@link WorkerProcess} for a real child process, a fake in
 * the supervisor's unit tests. Thread-safe.
 */
public interface ChildProcess {

    long pid();

    /** The handle the proxy asks whether the process is still alive. */
    ProcessHandle handle();

    Instant startedAt();

    boolean isAlive();

    /** Completes with the exit code (128 + signal number for a process ended by a signal) when the process ends. */
    CompletableFuture<Integer> onExit();

    /**
     * Completes when the process's output has been read to its end (its last lines are in the worker's log): soon
     * after its exit, or, when a descendant still holds the pipe, at the latest when that one has gone (the JDK may
     * close the pipe at the exit). Completed at once by default.
     */
    default CompletableFuture<Void> outputEnded() {
        return CompletableFuture.completedFuture(null);
    }

    /** Sends {@code signal} (a name such as TERM, INT, KILL) to the process and all its descendants. */
    void signal(String signal);

    /**
     * Sends {@code signal} (a name such as HUP, USR2) to the process alone, not to its descendants: a request the
     * program handles (reopen its logs, reload its configuration, write a heap snapshot), which it may pass on to the
     * processes it started as it sees fit. Nothing is sent when it has exited.
     *
     * @return whether the signal was delivered: false when the process has exited or the signal could not be sent
     */
    boolean signalProcess(String signal);

    /**
     * Asks the process and its descendants to exit with {@code signal} ({@code fleet.worker.stop-signal}), then
     * sends {@code CONT} to those a signal has stopped ({@code SIGSTOP}, {@code SIGTSTP}): a stopped process acts on
     * no signal but {@code KILL} until it runs again, so it would wait out the kill timeout (systemd sends
     * {@code SIGCONT} after its {@code KillSignal=} the same way). Just {@link #signal} by default.
     */
    default void signalExit(String signal) {
        signal(signal);
    }

    /** Kills what is left of the tree, including descendants orphaned or detached by the worker. */
    void killTree();

    /** Resident memory of the process tree, read now; empty where it cannot be read. */
    Optional<Long> residentBytes();

    /** CPU time the process has used so far. */
    Optional<Duration> cpuTime();

    /**
     * A process outside this one's tree that listens on {@code port} where the proxy connects (127.0.0.1, or every
     * address), said as {@code pid 42 (python3)}, or {@code no process now} when nothing does; empty when the tree
     * holds such a listener and no other process does, or where it cannot be told (no /proc). Reads /proc: not for
     * the supervisor's thread. Empty by default.
     */
    default Optional<String> foreignListener(int port) {
        return Optional.empty();
    }

    /**
     * The TCP sockets this process tree listens on, on any address and port, as the kernel lists them; empty when it
     * listens on none or where it cannot be told (no /proc). At most a few thousand, read from a bounded part of /proc
     * ({@code TcpListeners}): the tree's descriptors and the listening lines of /proc/net/tcp and tcp6. Not for the
     * supervisor's thread. Empty by default.
     */
    default List<ListeningSocket> listeningSockets() {
        return List.of();
    }

    /**
     * The processes of this one's tree still running besides its own, said as {@code pid 42 (python3)}, at most
     * {@code limit}: after its exit, what it left behind (a daemon it forked into the background). Empty where it
     * cannot be told, and by default. Reads /proc, all of it where the tree has no cgroup.
     */
    default List<String> survivors(int limit) {
        return List.of();
    }

    /** {@link #foreignListener}'s answer when nothing listens on the port. */
    String NO_LISTENER = "no process now";
}
