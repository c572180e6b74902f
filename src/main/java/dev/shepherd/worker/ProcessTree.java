package dev.shepherd.worker;

import java.util.List;
import java.util.Map;

/**
 * Every process of one worker process's tree: the worker and all it started, detached or not. Two ways to find
 * them: its own cgroup ({@link CgroupTree}), or a scan of /proc ({@link ScannedTree}). Thread-safe.
 */
interface ProcessTree {

    /** The processes of the tree alive now, the worker's own included while it runs. May scan all of /proc. */
    List<ProcessHandle> members();

    /** Those of {@link #members()} known without a scan of /proc: cheap, for measurements such as resident memory. */
    List<ProcessHandle> knownMembers();

    /** Sends a signal (TERM, KILL, INT, ...) to every member. */
    void signal(String signal);

    /** Kills every member, including those that outlived the worker's own process. */
    void kill();

    /**
     * Remembers the descendants a periodic /proc scan found ({@code children}: pid to its children's pids), so
     * they are still found once the process between them and the worker is gone.
     */
    void record(Map<Long, List<Long>> children);

    /** Gives back what the tree holds (its cgroup) once it is empty; false when that has to be tried again later. */
    boolean release();
}
