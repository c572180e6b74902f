package dev.shepherd.worker;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/** One worker process and its tree, without a fleet: what each way of keeping the tree finds and kills. */
class ProcessTreeIntegrationTests {

    private final List<Long> started = new ArrayList<>();
    private ProcessTrees trees;
    private LogBuffer logs;

    @AfterEach
    void killWhatIsLeft() {
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        if (trees != null) {
            trees.close();
        }
    }

    @Test
    void inItsCgroupADetachedChildWithAClearedEnvironmentDiesWithTheWorker() throws Exception {
        trees = ProcessTrees.open(true);
        assumeThat(trees.cgroupBase()).as("no cgroup v2 subtree this process may fill").isPresent();
        WorkerProcess worker = spawn("env -i setsid sleep 60 & echo $!; exit 3");
        long child = childPid(worker);

        assertThat(worker.onExit().get()).isEqualTo(3);
        worker.killTree();

        await().atMost(Duration.ofSeconds(5)).until(() -> !alive(child));
        Path group = Files.list(trees.cgroupBase().orElseThrow()).filter(Files::isDirectory).findFirst().orElseThrow();
        worker.release(trees);
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            trees.sweep();
            return !Files.exists(group);
        });
    }

    @Test
    void throughProcADetachedChildThatKeptTheMarkerDiesWithTheWorker() throws Exception {
        trees = ProcessTrees.open(false);
        assumeThat(trees.scans()).as("no /proc here").isTrue();
        WorkerProcess worker = spawn("setsid sleep 60 & echo $!; exit 3");
        long child = childPid(worker);

        assertThat(worker.onExit().get()).isEqualTo(3);
        assertThat(alive(child)).as("the child outlived its parent").isTrue();
        worker.killTree();

        await().atMost(Duration.ofSeconds(5)).until(() -> !alive(child));
    }

    @Test
    void throughProcAChildWithAClearedEnvironmentIsFoundByTheParentsAPeriodicScanRemembered() throws Exception {
        trees = ProcessTrees.open(false);
        assumeThat(trees.scans()).as("no /proc here").isTrue();
        WorkerProcess worker = spawn("env -i setsid sleep 60 & echo $!; exec sleep 60");
        long child = childPid(worker);
        trees.recordAll(List.of(worker));

        worker.handle().destroyForcibly();
        worker.onExit().get();
        assertThat(alive(child)).as("the child outlived its parent").isTrue();
        worker.killTree();

        await().atMost(Duration.ofSeconds(5)).until(() -> !alive(child));
    }

    @Test
    void signalReachesEveryMemberOfTheTree() throws Exception {
        trees = ProcessTrees.open(false);
        assumeThat(trees.scans()).as("no /proc here").isTrue();
        WorkerProcess worker = spawn("setsid sleep 60 & echo $!; exec sleep 60");
        long child = childPid(worker);

        worker.signal("TERM");

        await().atMost(Duration.ofSeconds(5)).until(() -> !alive(child) && !worker.isAlive());
    }

    @Test
    void outputEndsWithItsLastLinesInTheLogEvenWhenTheExitIsSeenFirst() throws Exception {
        trees = ProcessTrees.open(false);
        // Many lines written just before the exit: the exit is usually seen while the pump is still reading them.
        // All on stderr, where a crash writes: its order against stdout's lines is the order read, not written.
        WorkerProcess worker = spawn("i=0; while [ $i -lt 2000 ]; do echo line $i >&2; i=$((i+1)); done; echo boom >&2; exit 3");

        assertThat(worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(3);
        worker.outputEnded().get(10, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(logs.tail(1)).extracting(LogBuffer.Line::text).containsExactly("boom");
    }

    /** PM2's out and err: each line says which output of the process it came from. */
    @Test
    void eachLineIsTaggedWithTheStreamItWasWrittenTo() throws Exception {
        trees = ProcessTrees.open(false);
        WorkerProcess worker = spawn("echo to-out; echo to-err >&2; exit 0");

        worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        worker.outputEnded().get(10, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(logs.tail(10)).extracting(LogBuffer.Line::text, LogBuffer.Line::stream).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("to-out", LogBuffer.Stream.STDOUT),
                org.assertj.core.groups.Tuple.tuple("to-err", LogBuffer.Stream.STDERR));
    }

    /**
     * The master kills what is left of a worker's tree as soon as it sees the exit of a worker that served, while the
     * pump may still be reading its last output, usually the reason it died. {@code Process.destroyForcibly} closed
     * the pipe and dropped that output (found by an attacking helper: the last "FATAL" line of 1,000 was lost).
     */
    @Test
    void killingTheTreeRightAfterTheExitKeepsTheLastOutput() throws Exception {
        trees = ProcessTrees.open(false);
        WorkerProcess worker = spawn("i=0; while [ $i -lt 5000 ]; do echo line $i; i=$((i+1)); done; echo FATAL-END; exit 1");

        assertThat(worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(1);
        worker.killTree();
        worker.outputEnded().get(10, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(logs.tail(2)).extracting(LogBuffer.Line::text).containsExactly("line 4999", "FATAL-END");
    }

    @Test
    void outputEndsAtTheLatestWhenADescendantHoldingThePipeHasGone() throws Exception {
        trees = ProcessTrees.open(false);
        WorkerProcess worker = spawn("sleep 60 & echo $!; exit 0");
        long child = childPid(worker);
        worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);

        // Not asserted: that it is still open now. The JDK closes the pipe at the exit unless the pump is inside a
        // read at that moment (ProcessImpl's processExited), so either is right.
        ProcessHandle.of(child).ifPresent(ProcessHandle::destroyForcibly);
        await().atMost(Duration.ofSeconds(5)).until(() -> worker.outputEnded().isDone());
    }

    /**
     * A descendant that left every mark of the tree (a session of its own, a cleared environment, its parent gone
     * before any scan) but kept the worker's stdout: it is found by the pipe it holds, and killed, so the output ends
     * (it kept the master's reading thread and pipe for ever: 533 descriptors and 388 threads after 169 restarts,
     * found by an attacking helper).
     */
    @Test
    void throughProcADescendantThatLeftTheTreeButHoldsItsOutputIsKilledAndTheOutputEnds() throws Exception {
        trees = ProcessTrees.open(false);
        assumeThat(trees.scans()).as("no /proc here").isTrue();
        // The pause: the pump is back inside its read when the worker exits, so the JDK cannot close the pipe at
        // the exit (ProcessImpl's processExited), and only the holder keeps it open.
        WorkerProcess worker = spawn("(env -i setsid sleep 60 & echo $!); sleep 0.5; exit 3");
        long child = childPid(worker);

        assertThat(worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(3);
        worker.killTree();
        assertThat(alive(child)).as("not found by the tree's marks").isTrue();

        await().atMost(Duration.ofSeconds(10)).until(() -> !alive(child) && worker.outputEnded().isDone());
    }

    /** At a clean stop the master kills such a holder at once: the delayed rounds would never run (a helper's). */
    @Test
    void anEscapedHolderIsKilledAtOnceWhenTheMasterStops() throws Exception {
        trees = ProcessTrees.open(false);
        assumeThat(trees.scans()).as("no /proc here").isTrue();
        WorkerProcess worker = spawn("(env -i setsid sleep 60 & echo $!); sleep 0.5; exit 3");
        long child = childPid(worker);
        assertThat(worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(3);
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(child).flatMap(ProcessHandle::parent)
                .map(ProcessHandle::pid).filter(parent -> parent == 1).isPresent());

        worker.killOutputHoldersNow();

        await().atMost(Duration.ofSeconds(2)).until(() -> !alive(child));
    }

    /**
     * A process that holds the output but has a live parent of its own (here one that opened it through /proc, a
     * child of this JVM, the master) is no escaped descendant: it is left alone (an attacking helper's bystander was
     * killed, and so would a process the master was spawning).
     */
    @Test
    void aHolderWithALiveParentOfItsOwnIsNotKilled() throws Exception {
        trees = ProcessTrees.open(false);
        assumeThat(trees.scans()).as("no /proc here").isTrue();
        WorkerProcess worker = spawn("sleep 3; exit 3");
        String pipe = ProcFs.descriptor(worker.pid(), 1).orElseThrow();
        // Its parent waits for it: an operator's shell, say, and no child of the master.
        Process shell = new ProcessBuilder("sh", "-c", "sh -c 'exec 3</proc/" + worker.pid() + "/fd/1; exec sleep 30' "
                + "& wait").start();
        started.add(shell.pid());
        java.util.function.Supplier<java.util.Optional<Long>> held = () -> ProcFs.holders(pipe).stream()
                .filter(pid -> ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid)
                        .filter(parent -> parent == shell.pid()).isPresent()).findFirst();
        await().atMost(Duration.ofSeconds(5)).until(() -> held.get().isPresent());
        long bystander = held.get().orElseThrow();
        started.add(bystander);

        assertThat(worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(3);
        worker.killTree();

        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(6)).until(() -> alive(bystander));
    }

    @Test
    void aVariableTheLaunchTakesOutIsNotInheritedFromTheMaster() throws Exception {
        trees = ProcessTrees.open(false);
        assumeThat(System.getenv("HOME")).as("the test JVM has HOME to take out").isNotNull();
        logs = new LogBuffer(100);
        WorkerProcess worker = WorkerProcess.spawn(1, new LaunchSpec(List.of("/bin/sh", "-c",
                "echo \"home=${HOME-unset} added=$ADDED\""), null, Map.of("ADDED", "yes"), Set.of("HOME")),
                logs, Clock.systemUTC(), trees, new OutputLimits(8192, Duration.ZERO, 0, 0));
        started.add(worker.pid());

        assertThat(worker.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS)).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> !logs.tail(1).isEmpty());
        assertThat(logs.tail(1).get(0).text()).isEqualTo("home=unset added=yes");
    }

    /**
     * A worker stopped by SIGSTOP acts on the stop signal only once it runs again: without the CONT that follows it,
     * a worker hung so waited out the kill timeout, its slot empty.
     */
    @Test
    void aWorkerStoppedBySigstopExitsOnItsStopSignal() throws Exception {
        trees = ProcessTrees.open(false);
        WorkerProcess worker = spawn("exec sleep 60");
        Signals.send(worker.handle(), "STOP");
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcFs.stopped(worker.pid()));

        worker.signalExit("TERM");

        assertThat(worker.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(128 + 15);
    }

    /**
     * Found by an attacking helper: a worker that forked up to its user's process limit left the master unable to
     * start the next worker's output thread; the process ran on untracked, and its slot stayed STARTING for good.
     */
    @Test
    void aProcessWhoseOutputThreadCannotStartIsKilledAndItsSpawnFails() {
        assertSpawnFailsAndNothingRuns("shepherd-threadless-", ProcessBuilder::start, thread -> {
            throw outOfThreads();
        }, "cannot start the thread that reads its output: unable to create native thread");
    }

    /** The thread of its stderr cannot start once that of its stdout has: the process is killed all the same. */
    @Test
    void aProcessWhoseErrorOutputThreadCannotStartIsKilledAndItsSpawnFails() {
        assertSpawnFailsAndNothingRuns("shepherd-errorless-", ProcessBuilder::start, thread -> {
            if (thread.getName().endsWith("-errors")) {
                throw outOfThreads();
            }
            thread.start();
        }, "cannot start the thread that reads its output: unable to create native thread");
    }

    /**
     * The JDK can fork a process and then fail to start the thread that waits for it (out of threads): it throws an
     * {@link OutOfMemoryError} and gives no {@link Process}. The process the launch started is found by its group or
     * its marker, killed, and the spawn fails with the limits to look at.
     */
    @Test
    void aProcessTheJdkForkedButCouldNotWaitForIsKilledAndItsSpawnFails() {
        assertSpawnFailsAndNothingRuns("shepherd-unwaited-", builder -> {
            String name = builder.command().get(builder.command().size() - 1);
            builder.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> running(name));
            throw outOfThreads();
        }, Thread::start, "unable to create native thread");
    }

    /**
     * Spawns a shell through {@code starter} and {@code pumpStarter}, one of which runs out of threads: the spawn must
     * fail with a message starting with {@code message} and naming the limits, and the shell be gone within 5 s. The
     * shell is found by its name ({@code prefix} and a random part, its {@code $0}: an argument of the wrappers
     * before it, in its own command line from its first instant); it waits for its sleep (no exec), so the name stays
     * until it is killed. Whatever is left is killed.
     */
    private void assertSpawnFailsAndNothingRuns(String prefix, WorkerProcess.Starter starter,
                                                java.util.function.Consumer<Thread> pumpStarter, String message) {
        trees = ProcessTrees.open(false);
        assumeThat(trees.scans()).as("no /proc here").isTrue();
        String name = prefix + java.util.UUID.randomUUID();
        assertThatThrownBy(() -> WorkerProcess.spawn(1, new LaunchSpec(List.of("/bin/sh", "-c", "sleep 60; :", name),
                null, Map.of()), new LogBuffer(100), Clock.systemUTC(), trees, new OutputLimits(8192, Duration.ZERO, 0, 0),
                starter, pumpStarter))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageStartingWith(message)
                .hasMessageContaining("ulimit -u");
        try {
            await().atMost(Duration.ofSeconds(5)).until(() -> !running(name));
        } finally {
            ProcessHandle.allProcesses().filter(process -> process.info().commandLine().orElse("").contains(name))
                    .forEach(process -> {
                        process.descendants().forEach(ProcessHandle::destroyForcibly);
                        process.destroyForcibly();
                    });
        }
    }

    private static boolean running(String name) {
        return ProcessHandle.allProcesses().anyMatch(process -> process.info().commandLine().orElse("").contains(name));
    }

    /** What the JDK throws when it cannot start a thread ({@link OutOfThreads}). */
    private static OutOfMemoryError outOfThreads() {
        return new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource "
                + "limits reached");
    }

    private WorkerProcess spawn(String script) throws Exception {
        logs = new LogBuffer(100);
        WorkerProcess worker = WorkerProcess.spawn(1, new LaunchSpec(List.of("/bin/sh", "-c", script), null, Map.of()),
                logs, Clock.systemUTC(), trees, new OutputLimits(8192, Duration.ZERO, 0, 0));
        started.add(worker.pid());
        return worker;
    }

    /** The pid the script echoed: its background child's. */
    private long childPid(WorkerProcess worker) {
        await().atMost(Duration.ofSeconds(5)).until(() -> !logs.tail(1).isEmpty());
        long pid = Long.parseLong(logs.tail(1).get(0).text().trim());
        started.add(pid);
        return pid;
    }

    /**
     * Running, not a zombie: a killed orphan waits for PID 1 to reap it, which a loaded host's init did after the
     * test's wait (one failure in a full run); the kill is what the tests are about.
     */
    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !ProcFs.exitedNotReaped(pid);
    }
}
