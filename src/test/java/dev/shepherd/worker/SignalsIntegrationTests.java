package dev.shepherd.worker;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;

/** Signals to many processes at once reach every one of them, past the first {@code kill} command's share. */
class SignalsIntegrationTests {

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void killThem() {
        started.forEach(Process::destroyForcibly);
    }

    @Test
    void aSignalToMoreProcessesThanOneKillTakesReachesEachOfThem() throws IOException {
        for (int i = 0; i < Signals.PROCESSES_PER_KILL + 4; i++) {
            started.add(new ProcessBuilder("sleep", "60").start());
        }
        List<ProcessHandle> handles = started.stream().map(Process::toHandle).toList();

        Signals.send(handles, "STOP");
        await().atMost(Duration.ofSeconds(10)).until(() -> handles.stream().allMatch(p -> ProcFs.stopped(p.pid())));

        Signals.send(handles, "CONT");
        await().atMost(Duration.ofSeconds(10)).until(() -> handles.stream().noneMatch(p -> ProcFs.stopped(p.pid())));

        Signals.send(handles, "TERM");
        await().atMost(Duration.ofSeconds(10)).until(() -> handles.stream().noneMatch(ProcessHandle::isAlive));
    }
}
