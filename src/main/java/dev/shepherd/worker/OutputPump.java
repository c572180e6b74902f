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
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Reads one output of a worker process (its stdout or its stderr: a pump each) on a thread of its own until it ends,
 * so the pipe never fills: each line goes into the master's log (control characters in caret notation,
 * {@link TerminalText}) and the worker's {@link LogBuffer} (as written, tagged with its stream). Reads in pieces of
 * {@value #CHUNK} bytes and cuts long lines ({@link LineCutter}), so what it holds never depends on what the
 * worker writes; how many lines reach the master's log is limited per interval ({@link LogRateLimit}), so neither
 * does the log's volume; and how many bytes it reads per second is limited ({@link OutputBudget}), so neither does
 * the CPU it spends. A line the worker leaves unended for {@link #PARTIAL_LINE_QUIET} (a prompt, a
 * {@code Loading... } before its {@code done}) is given as it is, and what follows starts a new line: PM2 shows
 * such output at once, as it writes chunks; Docker and journald wait for the end of the line.
 */
@Slf4j
final class OutputPump {

    static final int CHUNK = 8192;

    /** How long a line may stay unended, no byte coming, before it is given as it is. */
    static final Duration PARTIAL_LINE_QUIET = Duration.ofSeconds(1);

    /**
     * What each line costs the output's budget beyond its bytes ({@link OutputBudget}): the master's work is per line
     * as much as per byte, and two workers writing empty lines at the byte rate took a whole core of the master's,
     * against 11 % for lines of 100 bytes (found by an attacking helper).
     */
    static final int LINE_COST = 64;

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

    /**
     * Starts the pump of a standard output with a budget of its own; the future completes when the output ended and
     * its last line is in {@code logs}.
     */
    static CompletableFuture<Void> start(int workerId, long pid, InputStream output, LogBuffer logs, Clock clock,
                                         OutputLimits limits) {
        return start(workerId, pid, LogBuffer.Stream.STDOUT, output, logs, clock, limits, limits.budget(), Thread::start);
    }

    /**
     * Starts the pump of {@code stream}, whose reads spend {@code budget} (null: no limit; shared by a process's
     * pumps), its thread started by {@code starter}, which throws what {@link Thread#start} throws when no thread can
     * be had. The future completes when the output ended and its last line is in {@code logs}.
     */
    static CompletableFuture<Void> start(int workerId, long pid, LogBuffer.Stream stream, InputStream output,
                                         LogBuffer logs, Clock clock, OutputLimits limits, OutputBudget budget,
                                         java.util.function.Consumer<Thread> starter) {
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
                        log.info("[worker {} pid {}{}] {}", workerId, pid, stream == LogBuffer.Stream.STDERR
                                ? " stderr" : "", safe);
                    }
                } catch (RuntimeException ex) {
                    // Never let the pump die: the pipe would close, and a worker writing to it would get SIGPIPE.
                    if (!failed[0]) {
                        failed[0] = true;
                        log.warn("A line of worker {} pid {} could not go to this log: {}", workerId, pid, ex.toString());
                    }
                }
                logs.add(new LogBuffer.Line(pid, now, line, stream));
                try {
                    logs.files().write(stream, line);
                } catch (RuntimeException ex) {
                    // As above: the file says why it failed (LogFile); the pump reads on.
                    log.debug("A line of worker {} pid {} could not go to its file: {}", workerId, pid, ex.toString());
                }
            });
            Feeder feeder = new Feeder(lines, workerId, pid);
            byte[] chunk = new byte[CHUNK];
            try (output) {
                int read;
                while ((read = output.read(chunk)) >= 0) {
                    int linesEnded = feeder.feed(chunk, 0, read);
                    if (budget != null) {
                        long wait = budget.spend(read + (long) linesEnded * LINE_COST);
                        if (wait > 0) {
                            // Bytes wait in the pipe meanwhile: an unended line is not left alone then.
                            feeder.pausing(true);
                            pause(wait);
                            feeder.pausing(false);
                        }
                    }
                }
            } catch (IOException ex) {
                log.debug("Output of worker {} pid {} closed: {}", workerId, pid, ex.getMessage());
            }
            feeder.finish();
            rateLimit.finish(reports);
            ended.complete(null);
        }, "worker-" + workerId + (stream == LogBuffer.Stream.STDOUT ? "-output" : "-errors"));
        pump.setDaemon(true);
        starter.accept(pump);
        return ended;
    }

    /** The one thread, made at the first look, that looks at every pump's unended line; a daemon. */
    private static final class Looks {

        static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(look -> {
            Thread thread = new Thread(look, "worker-output-unended");
            thread.setDaemon(true);
            return thread;
        });

        private Looks() {
        }
    }

    /**
     * Feeds the pump's {@link LineCutter} and gives its unended line once the worker wrote nothing for
     * {@link #PARTIAL_LINE_QUIET}: looked at on {@link Looks#TIMER}, one look at a time per pump, while the pump's
     * thread waits in its read. Calls to the cutter, and so to its line sink, are serialized on this object.
     */
    private static final class Feeder {

        private final LineCutter lines;
        private final int workerId;
        private final long pid;
        /** When the last bytes were fed, or the budget's last pause ended: the quiet runs from then. */
        private long lastFed;
        private boolean looking;
        private boolean finished;
        /** The pump waits on the output's budget, with bytes in the pipe: not quiet. */
        private boolean pausing;

        Feeder(LineCutter lines, int workerId, long pid) {
            this.lines = lines;
            this.workerId = workerId;
            this.pid = pid;
        }

        /** Returns how many lines the bytes ended (and earlier looks gave unended). */
        synchronized int feed(byte[] bytes, int offset, int count) {
            lines.feed(bytes, offset, count);
            lastFed = System.nanoTime();
            if (lines.holdsPartial() && !looking) {
                lookAfter(PARTIAL_LINE_QUIET.toNanos());
            }
            return lines.linesGiven();
        }

        synchronized void pausing(boolean paused) {
            pausing = paused;
            if (!paused) {
                lastFed = System.nanoTime();
            }
        }

        synchronized void finish() {
            finished = true;
            lines.finish();
        }

        private void lookAfter(long nanos) {
            looking = true;
            try {
                Looks.TIMER.schedule(this::look, nanos, TimeUnit.NANOSECONDS);
            } catch (RuntimeException | OutOfMemoryError ex) {
                // No thread for the timer (a master at its thread limit): the line waits for its end, as it did. The
                // pump must not die of it: the pipe would fill, and the worker block on its writes.
                looking = false;
            }
        }

        private synchronized void look() {
            looking = false;
            if (finished || !lines.holdsPartial()) {
                return;
            }
            long quiet = System.nanoTime() - lastFed;
            if (pausing || quiet < PARTIAL_LINE_QUIET.toNanos()) {
                // Output came since (the look was set at the burst's first read), or waits in the pipe.
                lookAfter(pausing ? PARTIAL_LINE_QUIET.toNanos() : PARTIAL_LINE_QUIET.toNanos() - quiet);
                return;
            }
            MDC.put("workerId", Integer.toString(workerId));
            MDC.put("workerPid", Long.toString(pid));
            try {
                lines.flushPartial();
            } finally {
                MDC.remove("workerId");
                MDC.remove("workerPid");
            }
        }
    }
}
