package dev.shepherd.fleet;

import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.LaunchSpec;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.OrphanGuard;
import dev.shepherd.worker.OutputLimits;
import dev.shepherd.worker.ProcessTrees;
import dev.shepherd.worker.WorkerProcess;

import java.io.IOException;
import java.time.Clock;
import java.util.List;

/**
 * The real {@link ProcessLauncher}: {@link WorkerProcess}es in trees of their own. How the trees are kept ({@link ProcessTrees}: cgroups or /proc), what
 * is killed when a worker process exits, and the {@link OrphanGuard} that ends them all if the master dies.
 * Confined to the supervisor's thread, which the guard's parent-death signal follows.
 */
final class WorkerTrees implements ProcessLauncher {

    private final FleetProperties.Worker config;
    private final Clock clock;
    /** Told, on any thread, that the orphan guard's process ended. */
    private final Runnable guardExited;
    private ProcessTrees trees;
    private OrphanGuard guard;
    /** Exited processes whose output is still open (an escaped descendant may hold it), until it ends. */
    private final java.util.Set<WorkerProcess> openOutputs = java.util.concurrent.ConcurrentHashMap.newKeySet();

    WorkerTrees(FleetProperties.Worker config, Clock clock, Runnable guardExited) {
        this.config = config;
        this.clock = clock;
        this.guardExited = guardExited;
    }

    @Override
    public void start() {
        trees = ProcessTrees.open(config.useCgroups());
        guard = OrphanGuard.start(trees, guardExited);
    }

    @Override
    public ChildProcess launch(int workerId, LaunchSpec spec, LogBuffer logs) throws IOException {
        WorkerProcess process = WorkerProcess.spawn(workerId, spec, logs, clock, trees, new OutputLimits(
                (int) config.logLineLength().toBytes(), config.logRateLimitInterval(), config.logRateLimitBurst(),
                config.outputMaxRate().toBytes()));
        process.processGroup().ifPresent(guard::track);
        return process;
    }

    /** The process has exited: whatever is left of its tree is killed now, and its cgroup given back. */
    @Override
    public void reaped(ChildProcess exited) {
        // Only this launcher's processes come back to it.
        WorkerProcess process = (WorkerProcess) exited;
        process.killTree();
        if (!process.outputEnded().isDone()) {
            openOutputs.add(process);
            process.outputEnded().thenRun(() -> openOutputs.remove(process));
        }
        process.release(trees);
        process.processGroup().ifPresent(guard::untrack);
    }

    /** Where trees are found through /proc: one scan, after which each running process remembers its descendants. */
    @Override
    public void record(List<ChildProcess> running) {
        if (trees != null && trees.scans()) {
            trees.recordAll(running.stream().map(WorkerProcess.class::cast).toList());
        }
    }

    /** Gives back the cgroups of killed trees that have emptied since, and starts the orphan guard again if it died. */
    @Override
    public void sweep() {
        if (trees != null) {
            trees.sweep();
        }
        restartGuard();
    }

    @Override
    public void restartGuard() {
        if (guard != null) {
            guard.restartIfGone();
        }
    }

    @Override
    public void close() {
        // The delayed rounds of killTree would not run once the master has stopped.
        openOutputs.forEach(WorkerProcess::killOutputHoldersNow);
        if (guard != null) {
            guard.close();
        }
        if (trees != null) {
            trees.close();
        }
    }
}
