package dev.shepherd;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real master whose stdout is a pipe nobody reads keeps supervising and stops when asked: its log lines that do not
 * fit are dropped and counted, never waited for (found by an attacking helper: the supervisor blocked on its
 * "Worker exited" line, no worker came back, and SIGTERM hung).
 */
class ConsoleBufferIntegrationTests {

    private static final Pattern DROPPED = Pattern.compile("shepherd_console_dropped_total\\{stream=\"stdout\"} (\\d+)");

    /** Fills the pipe and the master's buffer with access log lines of about 2 KB: three times what both hold. */
    private static void fill(MasterProcess master) throws Exception {
        fill(master, 1600);
    }

    /** {@code lines} access log lines of about 2 KB each. */
    private static void fill(MasterProcess master, int lines) throws Exception {
        String target = "/" + "x".repeat(2000);
        int port = master.proxyPort();
        for (int i = 0; i < lines; i++) {
            assertThat(RawHttp.status(RawHttp.exchange(port, "TRACE " + target + " HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n"))).isEqualTo(405);
        }
    }

    /** Reads the master's stdout into {@code to} on a thread of its own until it ends (the master exits). */
    private static Thread read(MasterProcess master, OutputStream to) {
        Thread reader = new Thread(() -> {
            try (InputStream stdout = master.stdout()) {
                stdout.transferTo(to);
            } catch (IOException ex) {
                // The master is gone.
            }
        }, "stdout-reader");
        reader.setDaemon(true);
        reader.start();
        return reader;
    }

    private static long dropped(MasterProcess master) throws Exception {
        Matcher matcher = DROPPED.matcher(master.admin("/actuator/prometheus").body());
        return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
    }

    @Test
    void aWorkerKilledWhileNobodyReadsStdoutIsRespawnedAndTheDroppedLinesAreCountedAndWarnedOf() throws Exception {
        try (MasterProcess master = MasterProcess.startReadyWithStdoutUnread(2, RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.access-log.enabled=true")) {
            fill(master);

            long killed = master.readyWorkerPids().get(0);
            ProcessHandle.of(killed).orElseThrow().destroyForcibly();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(master.readyWorkerPids())
                    .as("a replacement READY while stdout still takes nothing").hasSize(2).doesNotContain(killed));
            assertThat(RawHttp.status(RawHttp.exchange(master.proxyPort(), "GET /after HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n"))).isEqualTo(200);
            assertThat(dropped(master)).isPositive();

            // Once stdout is read again, the master says what it dropped.
            read(master, OutputStream.nullOutputStream());
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(master.output())
                    .containsPattern("WARN .*Dropped \\d+ writes \\(\\d+ bytes\\) to stdout in the last \\d+ s: the "
                            + "console took no output"));
        }
    }

    /**
     * What waits in the buffer at exit is written out: a master stopped while its stdout pipe is full (its reader
     * slow to come) still gets its last lines to it once the reader reads.
     */
    @Test
    void theLastLinesOfAGracefulStopReachAStdoutThatIsReadLate() throws Exception {
        try (MasterProcess master = MasterProcess.startReadyWithStdoutUnread(1, RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.access-log.enabled=true")) {
            fill(master, 300); // about 600 KB: the pipe full, the buffer not
            ProcessHandle.of(master.pid()).orElseThrow().destroy();
            await().atMost(Duration.ofSeconds(10)).until(() -> master.output().contains("All workers stopped"));

            ByteArrayOutputStream read = new ByteArrayOutputStream();
            Thread reader = read(master, read);
            await().atMost(Duration.ofSeconds(30)).until(() -> !master.isAlive());
            reader.join(10_000);
            assertThat(read.toString(StandardCharsets.UTF_8).strip()).endsWith("All workers stopped")
                    .doesNotContain("Dropped");
        }
    }

    @Test
    void aMasterWhoseStdoutNobodyReadsStopsOnSigterm() throws Exception {
        try (MasterProcess master = MasterProcess.startReadyWithStdoutUnread(1, RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.access-log.enabled=true")) {
            fill(master);
            List<Long> workers = master.readyWorkerPids();

            ProcessHandle.of(master.pid()).orElseThrow().destroy();
            await().atMost(Duration.ofSeconds(30)).until(() -> !master.isAlive());
            assertThat(master.output()).contains("All workers stopped");
            assertThat(workers).allSatisfy(pid -> assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive))
                    .as("worker %d", pid).isEmpty());
        }
    }
}
