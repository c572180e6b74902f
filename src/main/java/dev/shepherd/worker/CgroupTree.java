package dev.shepherd.worker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A worker process's tree as its own cgroup holds it: everything the worker starts is in the group unless it is
 * allowed to move itself out (only a process with write access to another cgroup is), so the group is complete
 * however its members detach, and the kernel kills it at once ({@code cgroup.kill}).
 */
final class CgroupTree implements ProcessTree {

    private final Process process;
    private final Path group;

    CgroupTree(Process process, Path group) {
        this.process = process;
        this.group = group;
    }

    @Override
    public List<ProcessHandle> members() {
        List<ProcessHandle> members = new ArrayList<>();
        for (long pid : Cgroups.members(group)) {
            ProcessHandle.of(pid).ifPresent(members::add);
        }
        if (process.isAlive() && members.stream().noneMatch(handle -> handle.pid() == process.pid())) {
            members.add(process.toHandle());
        }
        return members;
    }

    @Override
    public List<ProcessHandle> knownMembers() {
        return members();
    }

    @Override
    public void signal(String signal) {
        Signals.send(members(), signal);
    }

    @Override
    public void kill() {
        Cgroups.kill(group);
        // Through its handle: Process.destroyForcibly also closes the output pipe, whose last lines may still be
        // unread (a worker's dying words). The pipe ends by itself once no process holds it.
        process.toHandle().destroyForcibly();
    }

    @Override
    public void record(Map<Long, List<Long>> children) {
        // The group knows its members without a scan.
    }

    @Override
    public boolean release() {
        return Cgroups.remove(group);
    }

    @Override
    public String toString() {
        return "cgroup " + group;
    }
}
