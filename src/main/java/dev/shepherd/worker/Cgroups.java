package dev.shepherd.worker;

import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The master's own cgroup v2 subtree, where it can create one: {@code <its cgroup>/shepherd-<pid>-<n>/}, one child
 * group per worker process. Found through /proc/self/cgroup and /proc/self/mountinfo (the v2 hierarchy may be
 * mounted at /sys/fs/cgroup, or at /sys/fs/cgroup/unified in hybrid mode), and used only after a real move of a
 * probe process into a group of it succeeded: root, or a delegated subtree (systemd {@code Delegate=yes}, a
 * container with a writable cgroup namespace). Linux only.
 */
@Slf4j
final class Cgroups {

    private static final Path PROC_SELF = Path.of("/proc/self");
    private static final Pattern BASE_NAME = Pattern.compile("shepherd-(\\d+)-\\d+");
    private static final AtomicInteger BASES = new AtomicInteger();

    private final Path base;

    private Cgroups(Path base) {
        this.base = base;
    }

    /** The subtree, or empty (with the reason logged) where the master cannot create and fill groups. */
    static Optional<Cgroups> open() {
        Optional<Path> own = ownGroup();
        if (own.isEmpty()) {
            log.info("No cgroup v2 hierarchy for this process; worker process trees are found through /proc");
            return Optional.empty();
        }
        removeStale(own.get());
        Path base = own.get().resolve("shepherd-" + ProcessHandle.current().pid() + "-" + BASES.incrementAndGet());
        try {
            Files.createDirectory(base);
            Cgroups cgroups = new Cgroups(base);
            cgroups.probe();
            return Optional.of(cgroups);
        } catch (IOException | RuntimeException ex) {
            log.info("Cannot run workers in cgroups under {} ({}); worker process trees are found through /proc",
                    own.get(), ex.getMessage());
            remove(base);
            return Optional.empty();
        }
    }

    Path base() {
        return base;
    }

    Path create(String name) throws IOException {
        return Files.createDirectory(base.resolve(name));
    }

    /** Moves a process into a group (and with it everything it starts from then on). */
    static void join(Path group, long pid) throws IOException {
        Files.writeString(group.resolve("cgroup.procs"), Long.toString(pid));
    }

    /** The processes in a group now (none when it has gone). */
    static List<Long> members(Path group) {
        try {
            return Files.readAllLines(group.resolve("cgroup.procs")).stream().filter(line -> !line.isBlank())
                    .map(Long::parseLong).toList();
        } catch (IOException | RuntimeException ex) {
            return List.of();
        }
    }

    /**
     * Kills every process of a group and its subgroups at once: {@code cgroup.kill} (Linux 5.14+), else KILL to each
     * member, again until none is left (at most ten rounds, for members that fork while they are being killed).
     */
    static void kill(Path group) {
        Path killFile = group.resolve("cgroup.kill");
        if (Files.exists(killFile)) {
            try {
                Files.writeString(killFile, "1");
                return;
            } catch (IOException ex) {
                log.debug("cgroup.kill of {} failed ({}); killing its members one by one", group, ex.getMessage());
            }
        }
        for (int round = 0; round < 10; round++) {
            List<Long> members = members(group);
            if (members.isEmpty()) {
                return;
            }
            members.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    /** Removes an empty group; false while a process is still in it (killed ones leave it as they exit). */
    static boolean remove(Path group) {
        try {
            Files.deleteIfExists(group);
            return true;
        } catch (IOException ex) {
            return false;
        }
    }

    /** Kills whatever is left under the subtree and removes it. */
    void close() {
        kill(base);
        for (Path group : children(base)) {
            remove(group);
        }
        if (!remove(base)) {
            log.debug("{} is not empty yet; left for the next master to remove", base);
        }
    }

    /** A process moved into a group of the subtree must show up in it: proves the master may do what it needs. */
    private void probe() throws IOException {
        Path group = create("probe");
        Process probe = new ProcessBuilder("/bin/sh", "-c", "read -r go").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            join(group, probe.pid());
            if (!members(group).contains(probe.pid())) {
                throw new IOException("a process moved into " + group + " is not listed in it");
            }
        } finally {
            probe.destroyForcibly();
            try {
                probe.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            remove(group);
        }
    }

    /** The directory of this process's own cgroup in the v2 hierarchy, if one is mounted and reachable. */
    static Optional<Path> ownGroup() {
        try {
            return locate(Files.readAllLines(PROC_SELF.resolve("cgroup")), Files.readAllLines(PROC_SELF.resolve("mountinfo")))
                    .filter(dir -> Files.isRegularFile(dir.resolve("cgroup.procs")));
        } catch (IOException | RuntimeException ex) {
            return Optional.empty();
        }
    }

    /**
     * Where a process's v2 group is, from its /proc/PID/cgroup ({@code 0::/path}) and /proc/PID/mountinfo (a
     * {@code cgroup2} mount whose root holds that path; fields 4 and 5 are the mount's root and mount point).
     */
    static Optional<Path> locate(List<String> cgroupLines, List<String> mountinfoLines) {
        String path = cgroupLines.stream().filter(line -> line.startsWith("0::")).map(line -> line.substring(3))
                .findFirst().orElse(null);
        if (path == null || !path.startsWith("/") || path.contains("/..")) {
            return Optional.empty();
        }
        for (String line : mountinfoLines) {
            String[] halves = line.split(" - ", 2);
            String[] fields = halves[0].split(" ");
            if (halves.length == 2 && halves[1].startsWith("cgroup2 ") && fields.length > 4 && within(path, fields[3])) {
                String relative = path.substring(fields[3].length()).replaceFirst("^/", "");
                return Optional.of(Path.of(fields[4]).resolve(relative));
            }
        }
        return Optional.empty();
    }

    private static boolean within(String path, String root) {
        return root.equals("/") || path.equals(root) || path.startsWith(root + "/");
    }

    /**
     * Removes the empty subtrees of masters that are gone (killed before their guard could remove them). Only empty
     * groups go: killing what is in them is their own master's guard's job, not another master's guess.
     */
    private static void removeStale(Path own) {
        for (Path dir : children(own)) {
            Matcher name = BASE_NAME.matcher(dir.getFileName().toString());
            if (name.matches() && ProcessHandle.of(Long.parseLong(name.group(1))).isEmpty()) {
                children(dir).forEach(Cgroups::remove);
                remove(dir);
            }
        }
    }

    private static List<Path> children(Path dir) {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, Files::isDirectory)) {
            entries.forEach(children::add);
        } catch (IOException ex) {
            return children;
        }
        return children;
    }
}
