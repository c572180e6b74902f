package dev.shepherd.worker;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * The orphan guard against real processes: a process that carries the master's marker stands for a worker's
 * descendant. The guard's TERM (what the master's death sends it) kills it; the master's own close, after it stopped
 * its fleet, leaves it, and ends the guard at once instead of scanning every process's environment.
 */
class OrphanGuardIntegrationTests {

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        started.forEach(Process::destroyForcibly);
    }

    @Test
    void aCleanCloseEndsTheGuardWithoutKillingWhatCarriesTheMarker() throws Exception {
        assumeGuard();
        ProcessTrees trees = ProcessTrees.open(false);
        OrphanGuard guard = OrphanGuard.start(trees, () -> { });
        Process marked = marked(trees);
        awaitTrapSet(trees);

        guard.close();

        assertThat(guardProcesses(trees)).as("the guard is gone").isEmpty();
        // A kill would be seen within a second (the JDK reaps its children on a thread of its own).
        await("closed by the master itself: nothing killed").during(Duration.ofSeconds(1))
                .atMost(Duration.ofSeconds(3)).until(marked::isAlive);
    }

    @Test
    void theGuardsTermKillsWhatCarriesTheMarker() throws Exception {
        assumeGuard();
        ProcessTrees trees = ProcessTrees.open(false);
        OrphanGuard guard = OrphanGuard.start(trees, () -> { });
        try {
            Process marked = marked(trees);
            awaitTrapSet(trees);
            List<ProcessHandle> guards = guardShells(trees);
            assertThat(guards).hasSize(1);

            guards.get(0).destroy();

            await().atMost(Duration.ofSeconds(10)).until(() -> !marked.isAlive());
        } finally {
            guard.close();
        }
    }

    /**
     * The groups file's absence once meant "closed by the master": a /tmp cleaner (or a worker) that removed it
     * disarmed the guard, and a master killed with -9 left its workers' detached children running (found by an
     * attacking helper). Gone, the file is written again at the next sweep, and the guard's TERM still kills.
     */
    @Test
    void aRemovedGroupsFileDoesNotDisarmTheGuard() throws Exception {
        assumeGuard();
        ProcessTrees trees = ProcessTrees.open(false);
        OrphanGuard guard = OrphanGuard.start(trees, () -> { });
        try {
            Process marked = marked(trees);
            awaitTrapSet(trees);
            guard.track(999_999_999L);

            Files.delete(guard.groupsFile());
            guard.restartIfGone();
            assertThat(guard.groupsFile()).as("written again").content().isEqualTo("999999999");
            // What a worker of the same user could write to disarm it: put right at the next sweep.
            Files.writeString(guard.groupsFile(), "stopped");
            guard.restartIfGone();
            assertThat(guard.groupsFile()).as("written again").content().isEqualTo("999999999");
            Files.delete(guard.groupsFile());
            guardShells(trees).get(0).destroy();

            await().atMost(Duration.ofSeconds(10)).until(() -> !marked.isAlive());
        } finally {
            guard.close();
        }
    }

    /** A guard stopped with SIGSTOP would act only once continued: the master's sweep continues it (an attacking helper's). */
    @Test
    void aStoppedGuardIsContinuedByTheNextSweep() throws Exception {
        assumeGuard();
        ProcessTrees trees = ProcessTrees.open(false);
        OrphanGuard guard = OrphanGuard.start(trees, () -> { });
        try {
            awaitTrapSet(trees);
            long pid = guardShells(trees).get(0).pid();
            Signals.send(pid, "STOP");
            await().atMost(Duration.ofSeconds(5)).until(() -> ProcFs.stopped(pid));

            assertThat(guard.restartIfGone()).as("the same guard, not a new one").isFalse();

            await().atMost(Duration.ofSeconds(5)).until(() -> !ProcFs.stopped(pid));
        } finally {
            guard.close();
        }
    }

    private static void assumeGuard() {
        assumeThat(Files.isExecutable(Path.of("/usr/bin/setpriv"))).as("util-linux's setpriv").isTrue();
        assumeThat(ProcFs.available()).as("/proc").isTrue();
    }

    /** A process that lives a minute, with the marker of {@code trees}' workers in its environment. */
    private Process marked(ProcessTrees trees) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("sleep", "60");
        builder.environment().put(ProcessTrees.MARKER, trees.markerPrefix().substring(ProcessTrees.MARKER.length() + 1) + "1.1");
        Process process = builder.start();
        started.add(process);
        return process;
    }

    /** Until the guard runs its loop (its sleeper is a child), so its trap is set: a TERM before that just ends it. */
    private static void awaitTrapSet(ProcessTrees trees) {
        await().atMost(Duration.ofSeconds(10)).until(() -> guardProcesses(trees).stream()
                .anyMatch(guard -> guard.children().findAny().isPresent()));
    }

    /**
     * The guard shells, not a subshell one forked a moment ago, which has its command line too (a full verify once
     * found two).
     */
    private static List<ProcessHandle> guardShells(ProcessTrees trees) {
        return guardProcesses(trees).stream().filter(process -> process.parent()
                .map(parent -> !guardProcesses(trees).contains(parent)).orElse(true)).toList();
    }

    /** This test JVM's guard shells for {@code trees}: their command line names its marker prefix. */
    private static List<ProcessHandle> guardProcesses(ProcessTrees trees) {
        return ProcessHandle.allProcesses().filter(process -> process.info().commandLine()
                .map(line -> line.contains(OrphanGuard.NAME) && line.contains(trees.markerPrefix())).orElse(false)).toList();
    }
}
