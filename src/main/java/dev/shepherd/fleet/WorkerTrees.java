package dev.shepherd.fleet;

import dev.shepherd.worker.OrphanGuard;
import dev.shepherd.worker.ProcessTrees;
import dev.shepherd.worker.WorkerProcess;

import java.util.List;

/**
 * The workers' process trees, for the supervisor: how they are kept ({@link ProcessTrees}: cgroups or /proc), what
 * is killed when a worker process exits, and the {@link OrphanGuard} that ends them all if the master dies.
 * Confined to the supervisor's thread, which the guard's parent-death signal follows.
 */
final class WorkerTrees {

    private final FleetProperties.Worker config;
    private ProcessTrees trees;
    private OrphanGuard guard;

    WorkerTrees(FleetProperties.Worker config) {
        this.config = config;
    }

    void start() {
        trees = ProcessTrees.open(config.useCgroups());
        guard = OrphanGuard.start(trees);
    }

    ProcessTrees trees() {
        return trees;
    }

    void spawned(WorkerProcess process) {
        process.processGroup().ifPresent(guard::track);
    }

    /** The process has exited: whatever is left of its tree is killed now, and its cgroup given back. */
    void reaped(WorkerProcess process) {
        process.killTree();
        process.release(trees);
        process.processGroup().ifPresent(guard::untrack);
    }

    /** Where trees are found through /proc: one scan, after which each running process remembers its descendants. */
    void record(List<Worker> workers) {
        if (trees != null && trees.scans()) {
            trees.recordAll(workers.stream().filter(worker -> worker.state.hasProcess() && worker.process != null)
                    .map(worker -> worker.process).toList());
        }
    }

    /** Gives back the cgroups of killed trees that have emptied since. */
    void sweep() {
        if (trees != null) {
            trees.sweep();
        }
    }

    void close() {
        if (guard != null) {
            guard.close();
        }
        if (trees != null) {
            trees.close();
        }
    }
}
