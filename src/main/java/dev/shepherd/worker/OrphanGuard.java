package dev.shepherd.worker;

import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Ends the descendants of workers when the master dies without cleaning up ({@code kill -9}). A worker's own
 * process dies by its parent-death signal, but what it forked (npm → node, a shell wrapper, a detached daemon) would
 * live on. This starts one small shell per master, itself under a parent-death signal, that kills them all when the
 * master is gone: the workers' process groups (listed in a file), the master's cgroup subtree when there is one
 * ({@code cgroup.kill}, then the groups are removed), and every process whose environment carries this master's
 * {@link ProcessTrees#MARKER}.
 *
 * <p>Linux only (setpriv, setsid, /proc); elsewhere it does nothing, and only the demo worker watches its parent.
 * Start it from the thread that spawns the workers: the parent-death signal follows that thread.
 */
@Slf4j
public final class OrphanGuard implements AutoCloseable {

    /** What the groups file holds once the master closed the guard itself. */
    static final String STOPPED = "stopped";

    /**
     * POSIX sh; $1 the groups file, $2 the cgroup subtree or "-", $3 the marker prefix (dash's kill takes no "--": a
     * negative pid right after the signal names a group; grep -z reads NUL-separated entries). When the groups file
     * says {@value #STOPPED}, the master closed the guard itself, its workers already stopped: it exits at once,
     * without the scan of every process's environment, which took the master's shutdown 5 s on a busy host (found by
     * a new user's attack). A groups file that is gone is no such word: the master died, and the cgroup and the
     * marker still find the trees. (Its absence once meant a clean stop, so a /tmp cleaner that removed the file of a
     * fleet that had not changed in days, or a worker, disarmed the guard: an attacking helper's three detached
     * grandchildren survived the master's kill -9.)
     */
    private static final String SCRIPT = "trap '[ \"$(cat \"$1\" 2>/dev/null)\" = " + STOPPED + " ] && { rm -f \"$1\"; kill $sleeper 2>/dev/null; exit 0; }; for g in $(cat \"$1\" 2>/dev/null); do case $g in \"\"|*[!0-9]*|0|1) continue;; esac; kill -9 \"-$g\" 2>/dev/null; done; "
            + "[ -w \"$2/cgroup.kill\" ] && echo 1 > \"$2/cgroup.kill\"; "
            + "for e in /proc/[0-9]*/environ; do grep -qz \"^$3\" \"$e\" 2>/dev/null && { p=${e%/environ}; kill -9 \"${p#/proc/}\" 2>/dev/null; }; done; "
            + "if [ -d \"$2\" ]; then sleep 0.2; for d in \"$2\"/*/; do rmdir \"$d\" 2>/dev/null; done; rmdir \"$2\" 2>/dev/null; fi; "
            + "rm -f \"$1\"; kill $sleeper 2>/dev/null; exit 0' TERM INT HUP; "
            + "while :; do sleep 5 & sleeper=$!; wait $sleeper; done";

    /** The guard's {@code $0}, as {@code ps} shows it. */
    public static final String NAME = "shepherd-orphan-guard";
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private final Path groupsFile;
    /** The guard's command line, to start it again; null where there is no guard. */
    private final List<String> command;
    /** Told, on any thread, when a guard process ends. */
    private final Runnable exited;
    private Process guard;
    private boolean closed;
    private final Set<Long> groups = new LinkedHashSet<>();

    private OrphanGuard(Path groupsFile, List<String> command, Runnable exited, Process guard) {
        this.groupsFile = groupsFile;
        this.command = command;
        this.exited = exited;
        this.guard = guard;
        if (guard != null) {
            guard.onExit().thenRun(exited);
        }
    }

    /**
     * Starts the guard for the trees of {@code trees}, or returns one that does nothing where the tools are missing.
     * {@code exited} is told, on any thread, when a guard process ends, so that {@link #restartIfGone} can be called
     * at once on the thread that started it.
     */
    public static OrphanGuard start(ProcessTrees trees, Runnable exited) {
        if (!Files.isExecutable(Path.of("/usr/bin/setpriv")) || !Files.isExecutable(Path.of("/bin/sh"))) {
            return new OrphanGuard(null, null, null, null);
        }
        try {
            Path file = Files.createTempFile("shepherd-" + ProcessHandle.current().pid() + "-groups", ".txt");
            List<String> command = new ArrayList<>(List.of("/usr/bin/setpriv", "--pdeathsig", "TERM", "--"));
            if (Files.isExecutable(SETSID)) {
                // Out of the master's process group: Ctrl-C (SIGINT to the terminal's foreground group) or a
                // kill of the group must reach the master alone, which then drains its workers, and not this
                // guard, whose trap would KILL them at once. setsid execs without forking here (the guard is no
                // group leader), so the parent-death signal set just before stays with the shell.
                command.add(SETSID.toString());
            }
            command.addAll(List.of("/bin/sh", "-c", SCRIPT, NAME, file.toString(),
                    trees.cgroupBase().map(Path::toString).orElse("-"), trees.markerPrefix()));
            return new OrphanGuard(file, List.copyOf(command), exited, launch(command));
        } catch (IOException ex) {
            log.warn("No orphan guard ({}): a worker's own children may outlive a master killed with -9", ex.getMessage());
            return new OrphanGuard(null, null, null, null);
        }
    }

    private static Process launch(List<String> command) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    /**
     * Starts the guard again if it has died (killed by hand or by the OOM killer, a stray {@code pkill sh}): without
     * it, what the workers forked outlives a master killed with {@code -9}. Logged at ERROR; a guard that cannot be
     * started is tried again at the next call (the supervisor's periodic sweep). A guard that was sent TERM has killed the workers' trees first, as
     * its trap does on the master's death: they are restarted as any crashed worker. On the thread that started the
     * guard, whose death its parent-death signal follows.
     *
     * @return whether a new guard was started
     */
    public synchronized boolean restartIfGone() {
        if (command == null || closed) {
            return false;
        }
        String expected = listed();
        if (!expected.equals(read(groupsFile))) {
            // Removed by a /tmp cleaner, or changed by hand or by a worker (the word that says the master stopped
            // cleanly would disarm the guard): the guard would kill the wrong groups, or none.
            log.warn("The orphan guard's list of worker process groups {} was removed or changed; written again",
                    groupsFile);
            write();
        }
        if (guard.isAlive()) {
            if (ProcFs.stopped(guard.pid())) {
                // A stopped guard acts only once continued: a master killed meanwhile would leave the trees running.
                log.error("The orphan guard (pid {}) was stopped by a signal (SIGSTOP); continued", guard.pid());
                Signals.send(guard.pid(), "CONT");
            }
            return false;
        }
        long pid = guard.pid();
        int code = guard.exitValue();
        try {
            guard = launch(command);
            guard.onExit().thenRun(exited);
        } catch (IOException ex) {
            log.error("The orphan guard (pid {}) ended with code {} and cannot be started again ({}): until it is, a "
                    + "worker's children outlive a master killed with -9", pid, code, ex.getMessage());
            return false;
        }
        write();
        log.error("The orphan guard (pid {}) ended with code {}, not by the master's doing; started again as pid {}",
                pid, code, guard.pid());
        return true;
    }

    /** The file that lists the workers' process groups for the guard; null where there is no guard. */
    Path groupsFile() {
        return groupsFile;
    }

    public synchronized void track(long processGroup) {
        groups.add(processGroup);
        write();
    }

    public synchronized void untrack(long processGroup) {
        groups.remove(processGroup);
        write();
    }

    private void write() {
        if (groupsFile == null || closed) {
            return;
        }
        try {
            replace(groupsFile, listed());
        } catch (IOException ex) {
            log.warn("Cannot record worker process groups in {}: {}", groupsFile, ex.getMessage());
        }
    }

    private String listed() {
        return groups.stream().map(String::valueOf).collect(Collectors.joining("\n"));
    }

    /** The file's text, at most 64 KB of it; null when it cannot be read. */
    private static String read(Path file) {
        try (java.io.InputStream in = Files.newInputStream(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return new String(in.readNBytes(64 << 10), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException ex) {
            return null;
        }
    }

    /**
     * Puts {@code text} in {@code file} by a rename of a new private file (0600, made exclusively): a file or link
     * that another user put where a removed one was is replaced, not written through or followed.
     */
    private static void replace(Path file, String text) throws IOException {
        Path fresh = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".new");
        try {
            Files.writeString(fresh, text);
            Files.move(fresh, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(fresh);
        }
    }

    /**
     * Stops the guard when the master stops its fleet itself: writes {@value #STOPPED} in the groups file, which
     * tells the guard to exit without killing anything (the workers are stopped already), then ends it; the guard
     * removes the file (and the master, when it could not say so or the guard does not end).
     */
    @Override
    public synchronized void close() {
        boolean told = false;
        if (groupsFile != null && !closed) {
            try {
                replace(groupsFile, STOPPED);
                told = true;
            } catch (IOException ex) {
                log.warn("Cannot tell the orphan guard the fleet stopped ({}): it is killed instead", ex.getMessage());
            }
        }
        closed = true;
        if (guard != null) {
            if (told) {
                guard.destroy();
            } else {
                // Without the word, its TERM trap would kill every process that carries the marker, as on a crash.
                guard.destroyForcibly();
            }
            try {
                guard.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception ex) {
                guard.destroyForcibly();
            }
        }
        if (groupsFile != null) {
            try {
                Files.deleteIfExists(groupsFile);
            } catch (IOException ex) {
                log.debug("Could not remove {}", groupsFile);
            }
        }
    }
}
