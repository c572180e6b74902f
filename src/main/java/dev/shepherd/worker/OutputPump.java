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
import java.util.concurrent.locks.LockSupport;

/**
 * Reads a worker process's output (stdout and stderr merged) on a thread of its own until it ends, so the pipe
 * never fills: each line goes into the master's log (control characters in caret notation, {@link TerminalText}) and
 * the worker's {@link LogBuffer} (as written). Reads in pieces of
 * {@value #CHUNK} bytes and cuts long lines ({@link LineCutter}), so what it holds never depends on what the
 * worker writes; how many lines reach the master's log is limited per interval ({@link LogRateLimit}), so neither
 * does the log's volume; and how many bytes it reads per second is limited ({@link OutputBudget}), so neither does
 * the CPU it spends.
 */
@Slf4j
final class OutputPump {

    static final int CHUNK = 8192;

    private OutputPump() {
    }

    /** Waits {@code nanos} before the next read: the worker's writes block meanwhile once the pipe is full. */
    private static void pause(long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    /** "30 s", rounded up to whole seconds, for the rate limit's warnings. */
    static String seconds(Duration duration) {
        long millis = duration.toMillis();
        return (millis + 999) / 1000 + " s";
    }

    /** Starts the pump; the future completes when the output ended and its last line is in {@code logs}. */
    static CompletableFuture<Void> start(int workerId, long pid, InputStream output, LogBuffer logs, Clock clock,
                                         OutputLimits limits) {
        return start(workerId, pid, output, logs, clock, limits, Thread::start);
    }

    /**
     * As {@link #start(int, long, InputStream, LogBuffer, Clock, OutputLimits)}, the pump's thread started by
     * {@code starter}, which throws what {@link Thread#start} throws when no thread can be had.
     */
    static CompletableFuture<Void> start(int workerId, long pid, InputStream output, LogBuffer logs, Clock clock,
                                         OutputLimits limits, java.util.function.Consumer<Thread> starter) {
        CompletableFuture<Void> ended = new CompletableFuture<>();
        Thread pump = new Thread(() -> {
            // In the MDC too, so structured (JSON) logs carry them as fields.
            MDC.put("workerId", Integer.toString(workerId));
            MDC.put("workerPid", Long.toString(pid));
            LogRateLimit rateLimit = logs.rateLimit(limits.rateLimit());
            LogRateLimit.Reports reports = new LogRateLimit.Reports() {
                @Override
                public void suppressing(int burst, Duration interval, Duration left) {
                    log.warn("Worker {} wrote more than {} lines (or {} KiB) in {}: its lines of the next {} go to its "
                                    + "log buffer only (GET /fleet/workers/{}/logs), not to this log "
                                    + "(fleet.worker.log-rate-limit-burst, fleet.worker.log-rate-limit-interval)",
                            workerId, burst, (long) burst * LogRateLimit.UNIT / 1024, seconds(interval), seconds(left),
                            workerId);
                }

                @Override
                public void suppressed(long count) {
                    log.warn("Suppressed {} lines of worker {} in this log (fleet.worker.log-rate-limit-burst)", count,
                            workerId);
                }
            };
            boolean[] failed = {false};
            LineCutter lines = new LineCutter(limits.maxLineBytes(), line -> {
                Instant now = clock.instant();
                try {
                    // Escaped in the master's log, which operators tail on terminals; kept as written in the
                    // buffer, whose readers (JSON, the CLI) escape it themselves.
                    String safe = TerminalText.safe(line);
                    if (rateLimit.admit(safe.length(), reports)) {
                        log.info("[worker {} pid {}] {}", workerId, pid, safe);
                    }
                } catch (RuntimeException ex) {
                    // Never let the pump die: the pipe would close, and a worker writing to it would get SIGPIPE.
                    if (!failed[0]) {
                        failed[0] = true;
                        log.warn("A line of worker {} pid {} could not go to this log: {}", workerId, pid, ex.toString());
                    }
                }
                logs.add(new LogBuffer.Line(pid, now, line));
            });
            byte[] chunk = new byte[CHUNK];
            OutputBudget budget = limits.budget();
            try (output) {
                int read;
                while ((read = output.read(chunk)) >= 0) {
                    lines.feed(chunk, 0, read);
                    if (budget != null) {
                        pause(budget.spend(read));
                    }
                }
            } catch (IOException ex) {
                log.debug("Output of worker {} pid {} closed: {}", workerId, pid, ex.getMessage());
            }
            lines.finish();
            rateLimit.finish(reports);
            ended.complete(null);
        }, "worker-" + workerId + "-output");
        pump.setDaemon(true);
        starter.accept(pump);
        return ended;
    }
}
