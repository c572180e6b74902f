package dev.shepherd.worker;

import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
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
    static void send(ProcessHandle process, String signal) {
        switch (signal) {
            case "TERM" -> process.destroy();
            case "KILL" -> process.destroyForcibly();
            default -> send(process.pid(), signal);
        }
    }

    /** Sends {@code signal} to every process of the group {@code pgid}. */
    public static void sendGroup(long pgid, String signal) {
        kill(signal, "-" + pgid);
    }

    private static void kill(String signal, String target) {
        if (!SUPPORTED.contains(signal)) {
            throw new IllegalArgumentException("Unknown signal " + signal + "; use one of " + SUPPORTED);
        }
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, "--", target).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
            }
        } catch (IOException ex) {
            log.warn("Could not send {} to {}: {}", signal, target, ex.getMessage());
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
