package dev.shepherd.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.io.ByteArrayInputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@ExtendWith(OutputCaptureExtension.class)
class OutputPumpTests {

    /** Operators tail the master's log on terminals: a worker's escape sequence must not reach theirs. */
    @Test
    void aWorkersControlCharactersReachTheMastersLogInCaretNotationAndItsBufferAsWritten(CapturedOutput output)
            throws Exception {
        LogBuffer logs = new LogBuffer(10);
        String line = "red \u001b[31mtext\u001b]52;c;ZXZpbA==\u0007 \u009b2J";

        OutputPump.start(7, 4242, new ByteArrayInputStream((line + "\n").getBytes(StandardCharsets.UTF_8)), logs,
                Clock.systemUTC(), new OutputLimits(8192, Duration.ZERO, 0, 0)).get(5, TimeUnit.SECONDS);

        assertThat(output.getOut()).contains("[worker 7 pid 4242] red ^[[31mtext^[]52;c;ZXZpbA==^G \\u009B2J")
                .doesNotContain("\u001b").doesNotContain("\u009b");
        assertThat(logs.tail(1)).singleElement().extracting(LogBuffer.Line::text).isEqualTo(line);
    }

    /**
     * A prompt or a "Loading... " before its "done" showed nowhere until the line ended (a new user's): given as it
     * is once the worker wrote nothing for a second, in the buffer and the master's log alike; what follows is a new
     * line.
     */
    @Test
    void aLineLeftUnendedIsGivenAfterQuietAndWhatFollowsStartsTheNext(CapturedOutput captured) throws Exception {
        LogBuffer logs = new LogBuffer(10);
        PipedOutputStream worker = new PipedOutputStream();
        CompletableFuture<Void> ended = pump(5, 4545, worker, logs);

        long wrote = System.nanoTime();
        worker.write("first\nLoading... ".getBytes(StandardCharsets.UTF_8));
        worker.flush();
        await().atMost(Duration.ofSeconds(10)).until(() -> logs.tail(10).size() == 2);
        long given = System.nanoTime() - wrote;
        worker.write("done\n".getBytes(StandardCharsets.UTF_8));
        worker.close();
        ended.get(5, TimeUnit.SECONDS);

        assertThat(logs.tail(10)).extracting(LogBuffer.Line::text).containsExactly("first", "Loading... ", "done");
        assertThat(Duration.ofNanos(given)).as("given after the quiet, not at once").isGreaterThanOrEqualTo(OutputPump.PARTIAL_LINE_QUIET);
        assertThat(captured.getOut()).contains("[worker 5 pid 4545] Loading... \n").contains("[worker 5 pid 4545] done");
    }

    /**
     * The quiet runs from the last bytes, not from the first of a burst: pieces less than a second apart are one line
     * (an attacking helper's worker writing every 1.02 s saw up to five pieces merged and its words five seconds late,
     * or parts of a 20 KB write split off).
     */
    @Test
    void theQuietRunsFromTheLastBytes() throws Exception {
        LogBuffer logs = new LogBuffer(10);
        PipedOutputStream worker = new PipedOutputStream();
        CompletableFuture<Void> ended = pump(4, 4444, worker, logs);

        long first = System.nanoTime();
        worker.write("Loading".getBytes(StandardCharsets.UTF_8));
        worker.flush();
        await().pollDelay(Duration.ofMillis(700)).atMost(Duration.ofSeconds(5)).until(() -> true);
        long second = System.nanoTime();
        worker.write("...".getBytes(StandardCharsets.UTF_8));
        worker.flush();
        await().atMost(Duration.ofSeconds(10)).until(() -> logs.tail(10).size() == 1);
        long given = System.nanoTime();
        worker.close();
        ended.get(5, TimeUnit.SECONDS);

        assumeTrue(Duration.ofNanos(second - first).compareTo(OutputPump.PARTIAL_LINE_QUIET) < 0,
                "the pieces came " + Duration.ofNanos(second - first) + " apart");
        assertThat(logs.tail(10)).extracting(LogBuffer.Line::text).containsExactly("Loading...");
        assertThat(Duration.ofNanos(given - second)).as("a second after the last piece")
                .isGreaterThanOrEqualTo(OutputPump.PARTIAL_LINE_QUIET);
    }

    /**
     * Each line costs the output's budget {@link OutputPump#LINE_COST} bytes beyond its own: a worker writing empty
     * lines at the byte rate took a whole core of the master's.
     */
    @Test
    void eachLineCostsTheBudgetMoreThanItsBytes() throws Exception {
        LogBuffer logs = new LogBuffer(1000);
        // 400 empty lines: 400 bytes, well within a second's worth of 8 KB; charged 400 × 65 = 26,000 bytes.
        byte[] lines = "\n".repeat(400).getBytes(StandardCharsets.UTF_8);

        long start = System.nanoTime();
        OutputPump.start(3, 4343, new ByteArrayInputStream(lines), logs, Clock.systemUTC(),
                new OutputLimits(8192, Duration.ZERO, 0, 8192)).get(20, TimeUnit.SECONDS);

        assertThat(logs.tail(1000)).hasSize(400);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("(26,000 - 8,192) / 8,192 s of waiting")
                .isGreaterThanOrEqualTo(Duration.ofMillis(1500));
    }

    /** A line written in pieces close together is one line: only quiet gives it unended. */
    @Test
    void aLineWrittenInPiecesWithoutAPauseIsOneLine() throws Exception {
        LogBuffer logs = new LogBuffer(10);
        PipedOutputStream worker = new PipedOutputStream();
        CompletableFuture<Void> ended = pump(6, 4646, worker, logs);

        long start = System.nanoTime();
        for (String piece : List.of("GET ", "/ ", "200", "\n")) {
            worker.write(piece.getBytes(StandardCharsets.UTF_8));
            worker.flush();
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        worker.close();
        ended.get(5, TimeUnit.SECONDS);

        // Only meaningful when the pieces came within the quiet (a test thread stalled for a second says nothing).
        assumeTrue(took.compareTo(OutputPump.PARTIAL_LINE_QUIET) < 0, "the pieces took " + took);
        assertThat(logs.tail(10)).extracting(LogBuffer.Line::text).containsExactly("GET / 200");
    }

    /** A pump of the output {@code worker} writes, without limits but the line length. */
    private static CompletableFuture<Void> pump(int workerId, long pid, PipedOutputStream worker, LogBuffer logs)
            throws java.io.IOException {
        return OutputPump.start(workerId, pid, new PipedInputStream(worker, 1024), logs, Clock.systemUTC(),
                new OutputLimits(8192, Duration.ZERO, 0, 0));
    }

    /** The limit belongs to the worker id: a process that replaces one that used the burst up gets none of its own. */
    @Test
    void theProcessesOfOneWorkerIdShareTheBurst(CapturedOutput output) throws Exception {
        LogBuffer logs = new LogBuffer(100);
        OutputLimits limits = new OutputLimits(8192, Duration.ofSeconds(30), 5, 0);
        for (int pid = 1; pid <= 3; pid++) {
            String text = ("restart-" + pid + "-line\n").repeat(4);
            OutputPump.start(9, 5000 + pid, new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), logs,
                    Clock.systemUTC(), limits).get(5, TimeUnit.SECONDS);
        }

        assertThat(output.getOut()).contains("] restart-2-line").doesNotContain("] restart-3-line")
                .contains("Suppressed 3 lines of worker 9 in this log").contains("Suppressed 4 lines of worker 9");
        assertThat(logs.tail(100)).hasSize(12);
    }

    /**
     * A worker decides how much it writes, not how big the master's log grows (journald's rate limit): past the
     * burst, lines go to the buffer only, and the master's log says so and how many it left out.
     */
    @Test
    void linesOverTheRateLimitReachTheBufferOnlyAndTheMastersLogCountsThem(CapturedOutput output) throws Exception {
        LogBuffer logs = new LogBuffer(100);
        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= 50; i++) {
            text.append("line-").append(i).append("-end\n");
        }
        Clock frozen = Clock.fixed(Instant.parse("2026-12-02T12:00:00Z"), ZoneOffset.UTC);

        OutputPump.start(8, 4343, new ByteArrayInputStream(text.toString().getBytes(StandardCharsets.UTF_8)), logs,
                frozen, new OutputLimits(8192, Duration.ofSeconds(30), 10, 0)).get(5, TimeUnit.SECONDS);

        String log = output.getOut();
        assertThat(log).contains("[worker 8 pid 4343] line-10-end").doesNotContain("line-11-end")
                .doesNotContain("line-50-end")
                .contains("Worker 8 wrote more than 10 lines (or 10 KiB) in 30 s: its lines of the next 30 s go to its "
                        + "log buffer only (GET /fleet/workers/8/logs)")
                .contains("Suppressed 40 lines of worker 8 in this log");
        assertThat(logs.tail(100)).hasSize(50).last().extracting(LogBuffer.Line::text).isEqualTo("line-50-end");
    }
}
