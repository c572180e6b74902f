package dev.shepherd.worker;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A worker process's tree where it has no cgroup, found in /proc by four marks, any of which makes a member: the
 * worker's session or process group (it leads both, through setsid); the marker variable in the environment it
 * started with, which its descendants inherit ({@code SHEPHERD_TREE}, unique per process); a descendant remembered
 * from an earlier scan ({@link #record}); and a parent that is a member. What escapes all four: a descendant that
 * leaves the session and the process group, clears its environment, and whose parent chain to the worker breaks
 * between two periodic scans. Without /proc (other systems), the JDK's descendants of the live worker only.
 */
final class ScannedTree implements ProcessTree {

    /** Rounds of scan-and-kill, for members that fork while they are being killed. */
    private static final int KILL_ROUNDS = 10;

    private final Process process;
    private final long pid;
    private final String markerEntry;
    private final long master = ProcessHandle.current().pid();
    private final Set<ProcessHandle> known = new LinkedHashSet<>();

    ScannedTree(Process process, String markerEntry) {
        this.process = process;
        this.pid = process.pid();
        this.markerEntry = markerEntry;
    }

    @Override
    public List<ProcessHandle> members() {
        if (!ProcFs.available()) {
            List<ProcessHandle> members = new ArrayList<>(process.toHandle().descendants().toList());
            members.addAll(knownMembers());
            return members.stream().distinct().filter(ProcessHandle::isAlive).toList();
        }
        List<ProcFs.Stat> all = ProcFs.processes();
        Set<Long> knownPids = new HashSet<>();
        knownMembers().forEach(handle -> knownPids.add(handle.pid()));
        boolean alive = process.isAlive();
        // Linux gives a pid to a new process only once no session or group has it as id; so a session or group
        // with the worker's pid is the worker's, unless a new process has that pid.
        boolean pidReused = !alive && all.stream().anyMatch(stat -> stat.pid() == pid);
        Map<Long, List<Long>> children = new HashMap<>();
        ArrayDeque<Long> found = new ArrayDeque<>();
        for (ProcFs.Stat stat : all) {
            children.computeIfAbsent(stat.ppid(), key -> new ArrayList<>()).add(stat.pid());
            boolean ours = alive && stat.pid() == pid || !pidReused && (stat.session() == pid || stat.processGroup() == pid)
                    || knownPids.contains(stat.pid()) || ProcFs.hasEnvironmentEntry(stat.pid(), markerEntry);
            if (ours && stat.pid() != master) {
                found.add(stat.pid());
            }
        }
        Set<Long> tree = closure(found, children);
        tree.remove(master);
        return tree.stream().map(ProcessHandle::of).flatMap(java.util.Optional::stream).toList();
    }

    @Override
    public synchronized List<ProcessHandle> knownMembers() {
        known.removeIf(handle -> !handle.isAlive());
        List<ProcessHandle> members = new ArrayList<>(known);
        if (process.isAlive()) {
            members.add(process.toHandle());
        }
        return members;
    }

    @Override
    public void signal(String signal) {
        Signals.send(members(), signal);
    }

    @Override
    public void kill() {
        // Through its handle: Process.destroyForcibly also closes the output pipe, whose last lines may still be
        // unread (a worker's dying words). The pipe ends by itself once no process holds it.
        process.toHandle().destroyForcibly();
        for (int round = 0; round < KILL_ROUNDS; round++) {
            List<ProcessHandle> members = members().stream().filter(ProcessHandle::isAlive).toList();
            if (members.isEmpty()) {
                return;
            }
            members.forEach(ProcessHandle::destroyForcibly);
        }
    }

    @Override
    public synchronized void record(Map<Long, List<Long>> children) {
        known.removeIf(handle -> !handle.isAlive());
        ArrayDeque<Long> roots = new ArrayDeque<>();
        roots.add(pid);
        known.forEach(handle -> roots.add(handle.pid()));
        for (long member : closure(roots, children)) {
            if (member != pid && member != master) {
                ProcessHandle.of(member).ifPresent(known::add);
            }
        }
    }

    @Override
    public boolean release() {
        return true;
    }

    /** {@code roots} and everything below them. */
    private static Set<Long> closure(ArrayDeque<Long> roots, Map<Long, List<Long>> children) {
        Set<Long> tree = new HashSet<>();
        while (!roots.isEmpty()) {
            long next = roots.poll();
            if (tree.add(next)) {
                roots.addAll(children.getOrDefault(next, List.of()));
            }
        }
        return tree;
    }

    @Override
    public String toString() {
        return "process tree of " + pid + " found through /proc";
    }
}
