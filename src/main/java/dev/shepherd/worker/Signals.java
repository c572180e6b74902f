package dev.shepherd.worker;

import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** Signals other than TERM and KILL, which the JDK cannot send: through the system's {@code kill} command. */
@Slf4j
public final class Signals {

    public static final Set<String> SUPPORTED = Set.of("TERM", "KILL", "INT", "HUP", "QUIT", "USR1", "USR2", "STOP", "CONT");

    private Signals() {
    }

    public static void send(long pid, String signal) {
        kill(signal, Long.toString(pid));
    }

    /** Sends {@code signal} to one process: TERM and KILL through the JDK, which checks that it is still the same process. */
    /**
     * Sends {@code signal} to {@code process} alone; whether it was delivered ({@code kill} ended with status 0).
     * Where no {@code kill} program is installed (a slim image without procps), the shell's own {@code kill} sends it
     * (POSIX {@code sh} has one): a signal not sent was answered as sent (found by an attacking helper).
     */
    static boolean deliver(ProcessHandle process, String signal) {
        return kill(signal, List.of(Long.toString(process.pid())));
    }

    static void send(ProcessHandle process, String signal) {
        switch (signal) {
            case "TERM" -> process.destroy();
            case "KILL" -> process.destroyForcibly();
            default -> send(process.pid(), signal);
        }
    }

    /** How many processes one {@code kill} command is given at most. */
    static final int PROCESSES_PER_KILL = 256;

    /**
     * Sends {@code signal} to each of {@code processes}: TERM and KILL through the JDK, one by one; any other through
     * one {@code kill} command per {@value #PROCESSES_PER_KILL} of them. One command each, a worker's tree of a
     * thousand processes (its own to make) took the supervisor's thread for a thousand process starts.
     */
    static void send(List<ProcessHandle> processes, String signal) {
        if (signal.equals("TERM") || signal.equals("KILL")) {
            processes.forEach(process -> send(process, signal));
            return;
        }
        for (int from = 0; from < processes.size(); from += PROCESSES_PER_KILL) {
            List<String> targets = new ArrayList<>();
            processes.subList(from, Math.min(processes.size(), from + PROCESSES_PER_KILL))
                    .forEach(process -> targets.add(Long.toString(process.pid())));
            kill(signal, targets);
        }
    }

    /** Sends {@code signal} to every process of the group {@code pgid}. */
    public static void sendGroup(long pgid, String signal) {
        kill(signal, "-" + pgid);
    }

    private static void kill(String signal, String target) {
        kill(signal, List.of(target));
    }

    /** Whether {@code kill} sent {@code signal} to every one of {@code targets} (true for none). */
    private static boolean kill(String signal, List<String> targets) {
        if (!SUPPORTED.contains(signal)) {
            throw new IllegalArgumentException("Unknown signal " + signal + "; use one of " + SUPPORTED);
        }
        if (targets.isEmpty()) {
            return true;
        }
        List<String> command = new ArrayList<>(List.of("kill", "-s", signal, "--"));
        command.addAll(targets);
        String target = String.join(" ", targets.subList(0, Math.min(3, targets.size())))
                + (targets.size() > 3 ? " and " + (targets.size() - 3) + " more" : "");
        try {
            return run(command);
        } catch (IOException noKillProgram) {
            List<String> shell = new ArrayList<>(List.of("/bin/sh", "-c", "kill -s \"$0\" -- \"$@\"", signal));
            shell.addAll(targets);
            try {
                return run(shell);
            } catch (IOException ex) {
                log.warn("Could not send {} to {}: {}", signal, target, ex.getMessage());
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    /** Runs {@code command} for at most 5 s: whether it ended with status 0. */
    private static boolean run(List<String> command) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!kill.waitFor(5, TimeUnit.SECONDS)) {
            kill.destroyForcibly();
            return false;
        }
        return kill.exitValue() == 0;
    }
}
