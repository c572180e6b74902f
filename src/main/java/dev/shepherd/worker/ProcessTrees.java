package dev.shepherd.worker;

import dev.shepherd.FileProblems;
import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How one master keeps the process trees of its workers, so that nothing a worker started outlives it.
 *
 * <p>With a cgroup v2 subtree the master may fill ({@link Cgroups}), each worker process runs in a group of its own
 * from its first instruction on: it is started under a tiny shell that waits on its stdin until the master has
 * moved it into the group, then execs the command (same pid). Otherwise its tree is found through /proc
 * ({@link ScannedTree}). Either way each process gets {@value #MARKER}{@code =<master>.<worker>.<n>} in its
 * environment, inherited by what it starts. Thread-safe.
 */
@Slf4j
public final class ProcessTrees implements AutoCloseable {

    /** The environment variable that marks every process of a worker's tree. */
    public static final String MARKER = "SHEPHERD_TREE";
    /** Groups whose removal waits for their last process to go; more are abandoned (and removed with the subtree). */
    private static final int MAX_PENDING = 1024;
    private static final List<String> JOIN_WRAPPER = List.of("/bin/sh", "-c", "read -r go || exit 1; exec \"$@\"",
            "shepherd-worker");

    private final Cgroups cgroups;
    private final String instance;
    private final AtomicLong sequence = new AtomicLong();
    private final ArrayDeque<ProcessTree> unreleased = new ArrayDeque<>();

    private ProcessTrees(Cgroups cgroups) {
        this.cgroups = cgroups;
        this.instance = ProcessHandle.current().pid() + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt());
    }

    /** Uses cgroups when {@code useCgroups} and the master can create and fill them, /proc otherwise. */
    public static ProcessTrees open(boolean useCgroups) {
        ProcessTrees trees = new ProcessTrees(useCgroups ? Cgroups.open().orElse(null) : null);
        log.info("Worker process trees: {}", trees.description());
        return trees;
    }

    public String description() {
        if (cgroups != null) {
            return "a cgroup v2 group per worker process under " + cgroups.base();
        }
        return ProcFs.available() ? "found through /proc (session, process group, " + MARKER + " in the environment, parents)"
                : "the JDK's descendants of each running worker (no /proc here)";
    }

    /** Whether trees are found by scanning /proc, so a periodic {@link #recordAll} is worth its cost. */
    public boolean scans() {
        return cgroups == null && ProcFs.available();
    }

    public Optional<Path> cgroupBase() {
        return cgroups == null ? Optional.empty() : Optional.of(cgroups.base());
    }

    /** What {@code grep} finds at the start of every environment entry this master gives its workers. */
    public String markerPrefix() {
        return MARKER + "=" + instance + ".";
    }

    /** What is decided before a worker process starts: its marker and its group. */
    record Launch(String marker, Path group) {

        List<String> wrap(List<String> command) {
            if (group == null) {
                return command;
            }
            List<String> wrapped = new ArrayList<>(JOIN_WRAPPER);
            wrapped.addAll(command);
            return wrapped;
        }
    }

    Launch prepare(int workerId) {
        long n = sequence.incrementAndGet();
        Path group = null;
        if (cgroups != null) {
            try {
                group = cgroups.create("worker-" + workerId + "-" + n);
            } catch (IOException ex) {
                log.warn("No cgroup for worker {} ({}); its process tree is found through /proc", workerId,
                        FileProblems.reason(ex));
            }
        }
        return new Launch(instance + "." + workerId + "." + n, group);
    }

    /** The process has started under the launch's wrapper: moves it into its group, then lets it run. */
    ProcessTree attach(Launch launch, Process process) {
        if (launch.group() == null) {
            return new ScannedTree(process, MARKER + "=" + launch.marker());
        }
        ProcessTree tree;
        try {
            Cgroups.join(launch.group(), process.pid());
            tree = new CgroupTree(process, launch.group());
        } catch (IOException ex) {
            log.warn("Cannot move pid {} into {} ({}); its process tree is found through /proc", process.pid(),
                    launch.group(), FileProblems.reason(ex));
            Cgroups.remove(launch.group());
            tree = new ScannedTree(process, MARKER + "=" + launch.marker());
        }
        try {
            OutputStream stdin = process.getOutputStream();
            stdin.write('\n');
            stdin.flush();
        } catch (IOException ex) {
            log.debug("Worker pid {} went before it could be started: {}", process.pid(), ex.getMessage());
        }
        return tree;
    }

    /** The process did not start: gives back its group. */
    void abandon(Launch launch) {
        if (launch.group() != null) {
            Cgroups.remove(launch.group());
        }
    }

    /**
     * Kills what a launch started when the JDK gave no {@link Process} for it (it forked, then failed): the members
     * of its group, and the processes whose environment carries its marker (with a group, the wrapper still waiting to
     * join it is in none); then abandons it.
     */
    void killLaunched(Launch launch) {
        if (launch.group() != null) {
            Cgroups.kill(launch.group());
        }
        if (ProcFs.available()) {
            // Through the JDK (a system call), not a kill command: out of threads, no process can be started.
            String entry = MARKER + "=" + launch.marker();
            ProcFs.processes().stream().filter(stat -> ProcFs.hasEnvironmentEntry(stat.pid(), entry))
                    .forEach(stat -> ProcessHandle.of(stat.pid()).ifPresent(ProcessHandle::destroyForcibly));
        }
        abandon(launch);
    }

    /** One scan of /proc, after which each process remembers its current descendants. */
    public void recordAll(Collection<WorkerProcess> processes) {
        if (!scans() || processes.isEmpty()) {
            return;
        }
        Map<Long, List<Long>> children = new HashMap<>();
        for (ProcFs.Stat stat : ProcFs.processes()) {
            children.computeIfAbsent(stat.ppid(), key -> new ArrayList<>()).add(stat.pid());
        }
        processes.forEach(process -> process.tree().record(children));
    }

    /** The tree has been killed: gives back its group now, or at a later {@link #sweep()} once it is empty. */
    synchronized void released(ProcessTree tree) {
        if (!tree.release()) {
            if (unreleased.size() == MAX_PENDING) {
                unreleased.removeFirst();
            }
            unreleased.addLast(tree);
        }
    }

    /** Retries giving back the groups of killed trees. */
    public synchronized void sweep() {
        unreleased.removeIf(ProcessTree::release);
    }

    /** Kills whatever is left in the master's groups and removes them. */
    @Override
    public synchronized void close() {
        sweep();
        if (cgroups != null) {
            cgroups.close();
        }
        unreleased.clear();
    }
}
