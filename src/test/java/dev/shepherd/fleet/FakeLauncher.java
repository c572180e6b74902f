package dev.shepherd.fleet;

import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.LaunchSpec;
import dev.shepherd.worker.ListeningSocket;
import dev.shepherd.worker.LogBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

/**
 * Processes that only pretend: a test makes one exit, and decides whether it obeys the stop signal. Every launch is
 * kept, newest last. Single-threaded, like {@link ManualQueue}.
 */
final class FakeLauncher implements ProcessLauncher {

    /** One pretend process: alive until {@link #exit} or a signal it obeys. */
    static final class FakeProcess implements ChildProcess {

        final int workerId;
        final LaunchSpec spec;
        final List<String> signals = new ArrayList<>();
        private final long pid;
        private final Instant startedAt;
        private final CompletableFuture<Integer> exit = new CompletableFuture<>();
        private CompletableFuture<Void> outputEnd = CompletableFuture.completedFuture(null);
        private final ProcessHandle handle = mock(ProcessHandle.class);
        /** Whether the stop signal (TERM) ends it; a hung process ignores it until KILL. */
        boolean obeysStop = true;
        boolean reaped;
        /** Dead, as the proxy may see it on a connection, before its exit reaches the supervisor. */
        private boolean dead;
        /** The sockets its tree listens on ({@link #listeningSockets}); none by default. */
        final List<ListeningSocket> listening = new ArrayList<>();
        /** What its tree left running when it exited ({@link #survivors}); none by default. */
        final List<String> survivors = new ArrayList<>();
        /** Its process tree's resident memory as {@link #residentBytes()} reads it: 10 MiB unless a test sets it. */
        volatile long residentBytes = 10L * 1024 * 1024;

        FakeProcess(int workerId, LaunchSpec spec, long pid, Instant startedAt) {
            this.workerId = workerId;
            this.spec = spec;
            this.pid = pid;
            this.startedAt = startedAt;
            when(handle.pid()).thenReturn(pid);
            when(handle.isAlive()).thenAnswer(invocation -> isAlive());
        }

        @Override
        public List<ListeningSocket> listeningSockets() {
            return listening;
        }

        /** Its tree listens on {@code port} of {@code address}. */
        void listens(String address, int port) {
            try {
                listening.add(new ListeningSocket(java.net.InetAddress.getByName(address), port));
            } catch (java.net.UnknownHostException ex) {
                throw new IllegalArgumentException(ex);
            }
        }

        @Override
        public List<String> survivors(int limit) {
            return survivors.stream().limit(limit).toList();
        }

        /** Dies without its exit being seen yet: {@link #isAlive()} says false, {@link #exit} tells the rest. */
        void die() {
            dead = true;
        }

        /** Its output will not end until {@link #endOutput}: a process whose last lines are still being read. */
        void holdOutput() {
            outputEnd = new CompletableFuture<>();
        }

        void endOutput() {
            outputEnd.complete(null);
        }

        @Override
        public CompletableFuture<Void> outputEnded() {
            return outputEnd;
        }

        /** Ends the process with {@code code} (128 + n for signal n); its exit reaches the supervisor's queue. */
        void exit(int code) {
            exit.complete(code);
        }

        @Override
        public long pid() {
            return pid;
        }

        @Override
        public ProcessHandle handle() {
            return handle;
        }

        @Override
        public Instant startedAt() {
            return startedAt;
        }

        @Override
        public boolean isAlive() {
            return !dead && !exit.isDone();
        }

        @Override
        public CompletableFuture<Integer> onExit() {
            return exit;
        }

        @Override
        public void signal(String signal) {
            signals.add(signal);
            if (signal.equals("KILL") || obeysStop && (signal.equals("TERM") || signal.equals("INT"))) {
                exit(signal.equals("KILL") ? 137 : signal.equals("TERM") ? 143 : 130);
            }
        }

        /** Whether a signal to the process alone cannot be delivered (no kill program, say). */
        boolean undeliverable;
        /** Signals sent to the process alone ({@link #signalProcess}), in order. */
        final List<String> processSignals = new ArrayList<>();
        /** The signals sent to the process alone that it does not handle: each ends it, as its default action does. */
        final java.util.Set<String> unhandled = new java.util.HashSet<>();

        @Override
        public boolean signalProcess(String signal) {
            if (undeliverable) {
                return false;
            }
            processSignals.add(signal);
            if (unhandled.contains(signal)) {
                exit(128 + java.util.List.of("HUP", "INT", "QUIT", "", "", "", "", "", "", "USR1", "", "USR2")
                        .indexOf(signal) + 1);
            }
            return true;
        }

        @Override
        public void killTree() {
            signals.add("KILL");
            exit(137);
        }

        @Override
        public Optional<Long> residentBytes() {
            return Optional.of(residentBytes);
        }

        @Override
        public Optional<Duration> cpuTime() {
            return Optional.of(Duration.ZERO);
        }
    }

    final List<FakeProcess> launched = new ArrayList<>();
    private final Clock clock;
    /** Above Linux's pid limit (2^22): no /proc entry answers for a fake process ({@link Endpoint#exited}). */
    private long nextPid = 1_000_000_000L;
    /** The pid the next launch reports instead of a fake one: a real process's, for a test /proc must answer. */
    Long pidOfNext;
    /** How many of the next launches fail as if the program were missing. */
    int failNext;
    /** How many of the next launches fail as the JDK does when no thread can be started (ulimit -u reached). */
    int threadlessNext;
    /** How many of the next port picks fail as if the master were out of descriptors. */
    int portlessNext;
    /** Ports {@link #freePort} hands out next, in order, before its own; as the kernel may hand out a port twice. */
    final java.util.ArrayDeque<Integer> nextPorts = new java.util.ArrayDeque<>();
    boolean started;
    boolean closed;

    FakeLauncher(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void start() {
        started = true;
    }

    @Override
    public int freePort() {
        if (portlessNext > 0) {
            portlessNext--;
            throw new UncheckedIOException("no free loopback port for it: Too many open files",
                    new IOException("Too many open files"));
        }
        return nextPorts.isEmpty() ? 40_000 + launched.size() : nextPorts.removeFirst();
    }

    @Override
    public ChildProcess launch(int workerId, LaunchSpec spec, LogBuffer logs) throws IOException {
        if (failNext > 0) {
            failNext--;
            throw new IOException("Cannot run program \"missing\": No such file or directory");
        }
        if (threadlessNext > 0) {
            threadlessNext--;
            throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource "
                    + "limits reached");
        }
        long pid = pidOfNext != null ? pidOfNext : nextPid++;
        pidOfNext = null;
        FakeProcess process = new FakeProcess(workerId, spec, pid, clock.instant());
        launched.add(process);
        return process;
    }

    @Override
    public void reaped(ChildProcess process) {
        ((FakeProcess) process).reaped = true;
    }

    @Override
    public void record(List<ChildProcess> running) {
    }

    @Override
    public void sweep() {
    }

    @Override
    public void close() {
        closed = true;
    }

    /** The newest process of worker {@code workerId}. */
    FakeProcess latest(int workerId) {
        for (int i = launched.size() - 1; i >= 0; i--) {
            if (launched.get(i).workerId == workerId) {
                return launched.get(i);
            }
        }
        throw new AssertionError("worker " + workerId + " never launched");
    }

    /** Processes alive now. */
    List<FakeProcess> alive() {
        return launched.stream().filter(FakeProcess::isAlive).toList();
    }
}
