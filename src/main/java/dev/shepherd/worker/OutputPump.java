package dev.shepherd.worker;

import dev.shepherd.TerminalText;
import lombok.extern.slf4j.Slf4j;
import org.slf4j.MDC;

import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * Reads a worker process's output (stdout and stderr merged) on a thread of its own until it ends, so the pipe
 * never fills: each line goes into the master's log (control characters in caret notation, {@link TerminalText}) and
 * the worker's {@link LogBuffer} (as written). Reads in pieces of
 * {@value #CHUNK} bytes and cuts long lines ({@link LineCutter}), so what it holds never depends on what the
 * worker writes; how many lines reach the master's log is limited per interval ({@link LogRateLimit}), so neither
 * does the log's volume.
 */
@Slf4j
final class OutputPump {

    static final int CHUNK = 8192;

    private OutputPump() {
    }

    /** Starts the pump; the future completes when the output ended and its last line is in {@code logs}. */
    static CompletableFuture<Void> start(int workerId, long pid, InputStream output, LogBuffer logs, Clock clock,
                                         OutputLimits limits) {
        CompletableFuture<Void> ended = new CompletableFuture<>();
        Thread pump = new Thread(() -> {
            // In the MDC too, so structured (JSON) logs carry them as fields.
            MDC.put("workerId", Integer.toString(workerId));
            MDC.put("workerPid", Long.toString(pid));
            LogRateLimit rateLimit = new LogRateLimit(limits.rateLimit(), new LogRateLimit.Reports() {
                @Override
                public void suppressing(int burst, Duration interval, Instant until) {
                    log.warn("Worker {} pid {} wrote more than {} lines in {}: its lines until {} go to its log buffer "
                                    + "only (GET /fleet/workers/{}/logs), not to this log "
                                    + "(fleet.worker.log-rate-limit-burst, fleet.worker.log-rate-limit-interval)",
                            workerId, pid, burst, interval, until, workerId);
                }

                @Override
                public void suppressed(long count) {
                    log.warn("Suppressed {} lines of worker {} pid {} in this log", count, workerId, pid);
                }
            });
            LineCutter lines = new LineCutter(limits.maxLineBytes(), line -> {
                Instant now = clock.instant();
                if (rateLimit.admit(now)) {
                    // Escaped in the master's log, which operators tail on terminals; kept as written in the
                    // buffer, whose readers (JSON, the CLI) escape it themselves.
                    log.info("[worker {} pid {}] {}", workerId, pid, TerminalText.safe(line));
                }
                logs.add(new LogBuffer.Line(pid, now, line));
            });
            byte[] chunk = new byte[CHUNK];
            try (output) {
                int read;
                while ((read = output.read(chunk)) >= 0) {
                    lines.feed(chunk, 0, read);
                }
            } catch (IOException ex) {
                log.debug("Output of worker {} pid {} closed: {}", workerId, pid, ex.getMessage());
            }
            lines.finish();
            rateLimit.finish();
            ended.complete(null);
        }, "worker-" + workerId + "-output");
        pump.setDaemon(true);
        pump.start();
        return ended;
    }
}
