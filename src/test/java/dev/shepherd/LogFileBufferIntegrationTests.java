package dev.shepherd;

import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.FreePorts;
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
import java.util.ArrayList;
import java.util.List;
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
        // Each worker prints 20,000 lines as it starts, which the master logs: the pipe (64 KiB) and the buffer
        // (4,096 lines) several times over.
        List<String> args = new ArrayList<>(List.of("--fleet.worker.command[0]=sh", "--fleet.worker.command[1]=-c",
                "--fleet.worker.command[2]=yes 'a line the worker prints as it starts' | head -n 20000; exec \"$@\"",
                "--fleet.worker.command[3]=sh"));
        List<String> echo = RunningShepherd.javaCommand(EchoWorker.class);
        for (int i = 0; i < echo.size(); i++) {
            args.add("--fleet.worker.command[" + (4 + i) + "]=" + echo.get(i));
        }
        // The proxy's port named, not read from the console: these lines fill the console's buffer too, and the
        // "Proxy listening" line, logged after 3 MB of them, was dropped once in CI.
        args.addAll(List.of("--fleet.worker.log-rate-limit-burst=0", "--fleet.proxy.access-log.enabled=true",
                "--logging.file.name=" + fifo, "--server.port=" + FreePorts.unassigned()));
        try (MasterProcess master = MasterProcess.startReady(2, args.toArray(String[]::new))) {
            requests(master.proxyPort(), 2000); // access log lines: written straight, by the access log's thread
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
