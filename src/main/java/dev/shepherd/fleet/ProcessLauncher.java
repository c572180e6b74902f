package dev.shepherd.fleet;

import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.LaunchSpec;
import dev.shepherd.worker.LogBuffer;

import java.io.IOException;
import java.util.List;

/**
 * How the supervisor starts worker processes and cleans up after them: {@link WorkerTrees} for real child processes
 * in trees of their own, a fake in the supervisor's unit tests. Called on the supervisor's thread only.
 */
interface ProcessLauncher {

    /** Prepares to launch (process trees, the orphan guard); before the first {@link #launch}. */
    void start();

    /**
     * A loopback port for the next worker to listen on, free now ({@link FreePorts}).
     *
     * @throws java.io.UncheckedIOException when none can be bound (the master is out of descriptors): the worker
     *         cannot start, as when {@link #launch} fails
     */
    default int freePort() {
        return FreePorts.pick();
    }

    /**
     * Starts a process for worker {@code workerId} whose output goes to {@code logs}.
     *
     * @throws IOException when the program cannot be started (missing, not executable)
     */
    ChildProcess launch(int workerId, LaunchSpec spec, LogBuffer logs) throws IOException;

    /** {@code process} has exited: whatever is left of its tree is killed now. */
    void reaped(ChildProcess process);

    /** Lets each running process remember its descendants, where that needs a periodic scan. */
    void record(List<ChildProcess> running);

    /**
     * Gives back what the trees of killed processes held, once they have emptied, and starts again what keeps them
     * from outliving the master if it has died. Periodically, on the supervisor's thread.
     */
    void sweep();

    /** Starts again, if it has died, what keeps the workers' trees from outliving the master; on the supervisor's thread. */
    default void restartGuard() {
    }

    /** After the last process: stops the orphan guard and gives back what is left. */
    void close();
}
