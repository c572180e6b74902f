package dev.shepherd;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real master whose log file takes no output (a FIFO held open, unread, as a hung disk is) keeps supervising: the
 * lines that do not fit are dropped and counted, never waited for, and warned of once the file takes output again.
 * Before, the supervisor waited on its "exited" line and no worker came back.
 */
class LogFileBufferIntegrationTests {

    private static final Pattern DROPPED = Pattern.compile("shepherd_log_file_dropped_total (\\d+)");

    @Test
    void aWorkerKilledWhileTheLogFileTakesNothingIsRespawnedAndTheDroppedLinesAreCountedAndWarnedOf(@TempDir Path dir)
            throws Exception {
        Path fifo = dir.resolve("master.log");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        CountDownLatch read = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            try (InputStream in = new FileInputStream(fifo.toFile())) {
                read.await();
                in.transferTo(OutputStream.nullOutputStream());
            } catch (IOException | InterruptedException ex) {
                // The master is gone, or the test is.
            }
        }, "log-file-holder");
        holder.setDaemon(true);
        holder.start();
        try (MasterProcess master = MasterProcess.startReady(2, RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.access-log.enabled=true", "--logging.file.name=" + fifo)) {
            // About 10 MB of access log lines: the pipe (64 KiB) and the buffer (4,096 lines) three times over.
            requests(master.proxyPort(), 5000);
            await().atMost(Duration.ofSeconds(20)).until(() -> dropped(master) > 0);

            long killed = master.readyWorkerPids().get(0);
            ProcessHandle.of(killed).orElseThrow().destroyForcibly();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(master.readyWorkerPids())
                    .as("a replacement READY while the log file takes nothing").hasSize(2).doesNotContain(killed));

            read.countDown();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                requests(master.proxyPort(), 1);
                assertThat(master.output()).containsPattern("WARN .*Dropped \\d+ lines to the log file in the last "
                        + "\\d+ s: it took no output while 4096 lines were waiting");
            });
        } finally {
            read.countDown();
        }
    }

    /** {@code count} pipelined requests with 2 KB targets on one connection, each answered before this returns. */
    private static void requests(int port, int count) throws IOException {
        String pad = "p".repeat(2000);
        try (Socket socket = new Socket("127.0.0.1", port)) {
            Thread reader = new Thread(() -> {
                try {
                    socket.getInputStream().transferTo(OutputStream.nullOutputStream());
                } catch (IOException ex) {
                    // Closed.
                }
            }, "responses");
            reader.start();
            OutputStream out = socket.getOutputStream();
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < count; i++) {
                batch.append("GET /bytes?n=0&pad=").append(pad).append(" HTTP/1.1\r\nHost: x\r\n")
                        .append(i == count - 1 ? "Connection: close\r\n" : "").append("\r\n");
                if (batch.length() > 64 * 1024 || i == count - 1) {
                    out.write(batch.toString().getBytes(StandardCharsets.US_ASCII));
                    batch.setLength(0);
                }
            }
            out.flush();
            reader.join(Duration.ofSeconds(60).toMillis());
            assertThat(reader.isAlive()).as("every response came").isFalse();
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IOException(ex);
        }
    }

    private static long dropped(MasterProcess master) throws Exception {
        Matcher matcher = DROPPED.matcher(master.admin("/actuator/prometheus").body());
        return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
    }
}
