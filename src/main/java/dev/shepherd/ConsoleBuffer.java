package dev.shepherd;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.binder.MeterBinder;
import lombok.extern.slf4j.Slf4j;
import org.springframework.boot.SpringApplication;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One of the master's standard streams through a bounded buffer that a thread of its own writes out, so no thread of
 * the master ever waits on a console that takes no output: a pipe nobody reads, a terminal paused with Ctrl-S, a log
 * collector that stalls. Written to straight, the first thread to log would hold Logback's console lock while its
 * {@code write(2)} blocked, and every thread that logs after it would wait too: the supervisor before it respawns a
 * worker, the proxy's event loops, the shutdown (found by an attacking helper, with the access log on filling the
 * pipe in seconds, but a chatty worker's lines fill it as well).
 *
 * <p>A write that does not fit is dropped whole, so a log line is never cut, and counted
 * ({@code shepherd.console.dropped}, in writes: one per log line); once the console takes output again a warning says
 * how many were dropped and for how long. Docker's {@code mode=non-blocking} log option makes the same trade for the
 * same reason, and {@value #CAPACITY} bytes is its {@code max-buffer-size} default (1 MB); HAProxy drops log lines
 * rather than wait as well. Writes keep their order; the writer thread ends with the JVM, which gives it
 * {@link #FLUSH_ON_EXIT} to write out what is left ({@link #install()}).
 *
 * <p>Thread-safe: any thread writes; only the writer thread touches the console.
 */
@Slf4j
public final class ConsoleBuffer extends OutputStream {

    /** Bytes held for a console that takes none: Docker's non-blocking log buffer. */
    static final int CAPACITY = 1 << 20;

    /** The longest the JVM's exit waits for what is left to be written; a console that takes nothing gets no more. */
    static final Duration FLUSH_ON_EXIT = Duration.ofSeconds(2);

    /**
     * What the writer hands the console in one system call at most, unless one write alone is longer: Linux's
     * {@code PIPE_BUF}, the most a pipe takes atomically (POSIX {@code write(2)}), so a batch never interleaves with
     * what another writer of the same pipe writes (the JVM's thread dump on {@code SIGQUIT}) and a writer killed at exit
     * leaves no half line in it. Batches end between writes, never inside one.
     */
    private static final int BATCH_BYTES = 4096;

    /** At most one warning of dropped writes per interval. */
    static final Duration WARNING_INTERVAL = Duration.ofSeconds(10);

    private static volatile ConsoleBuffer stdout;
    private static volatile ConsoleBuffer stderr;

    private final String name;
    private final OutputStream console;
    private final int capacity;
    private final Thread writer;
    private final long warningIntervalNanos;
    /** Guarded by {@code this}: writes waiting, their bytes, whether the writer is writing some out. */
    private final ArrayDeque<byte[]> waiting = new ArrayDeque<>();
    private int waitingBytes;
    private boolean writing;
    /** Guarded by {@code this}: writes dropped in all, and since the last warning (when the first of those was). */
    private long dropped;
    private long droppedBytes;
    private long unreported;
    private long unreportedBytes;
    private long firstUnreportedNanos;
    /** Guarded by {@code this}: when the writer last warned. */
    private long lastWarning;

    /**
     * A buffer of {@code capacity} bytes in front of {@code console}, written out by a daemon thread named
     * {@code "console-" + name}.
     */
    ConsoleBuffer(String name, OutputStream console, int capacity) {
        this(name, console, capacity, WARNING_INTERVAL);
    }

    /** {@link #ConsoleBuffer(String, OutputStream, int)}, warning of drops at most once per {@code warningInterval}. */
    ConsoleBuffer(String name, OutputStream console, int capacity, Duration warningInterval) {
        this.name = name;
        this.console = console;
        this.capacity = capacity;
        this.warningIntervalNanos = warningInterval.toNanos();
        this.lastWarning = System.nanoTime() - warningIntervalNanos;
        writer = new Thread(this::writeOut, "console-" + name);
        writer.setDaemon(true);
        writer.start();
    }

    /** A buffer of {@link #CAPACITY} in front of {@code console}, as {@link #install()} puts one in front of each. */
    static ConsoleBuffer over(String name, OutputStream console) {
        return new ConsoleBuffer(name, console, CAPACITY);
    }

    /**
     * Puts {@code System.out} and {@code System.err} behind a buffer each, once, and has the JVM's exit wait up to
     * {@link #FLUSH_ON_EXIT} for them: after Spring Boot's shutdown has closed the application and stopped its logging
     * (a {@link org.springframework.boot.SpringApplication#getShutdownHandlers() shutdown handler}, so the master's
     * last lines are in), and when the JVM exits another way. The master's {@code main} only: the command line and
     * the demo worker write to their streams straight.
     */
    static synchronized void install() {
        if (stdout != null) {
            return;
        }
        stdout = over("stdout", new FileOutputStream(FileDescriptor.out));
        stderr = over("stderr", new FileOutputStream(FileDescriptor.err));
        System.setOut(new PrintStream(stdout, true));
        System.setErr(new PrintStream(stderr, true));
        Runnable flush = () -> flush(FLUSH_ON_EXIT);
        Runtime.getRuntime().addShutdownHook(new Thread(flush, "console-flush"));
        SpringApplication.getShutdownHandlers().add(flush);
    }

    /** Waits up to {@code timeout} for both streams to be written out, if installed; for the JVM's exit. */
    static void flush(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (ConsoleBuffer buffer : new ConsoleBuffer[] {stdout, stderr}) {
            if (buffer != null) {
                buffer.awaitWritten(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            }
        }
    }

    /** {@code shepherd.console.dropped}, tagged {@code stream=stdout|stderr}, for a master that installed them. */
    public static MeterBinder metrics() {
        return registry -> {
            for (ConsoleBuffer buffer : new ConsoleBuffer[] {stdout, stderr}) {
                if (buffer != null) {
                    FunctionCounter.builder("shepherd.console.dropped", buffer, ConsoleBuffer::dropped)
                            .description("Writes to the master's stdout or stderr (log lines) dropped because the "
                                    + "console took no output and " + CAPACITY + " bytes of it were waiting")
                            .tag("stream", buffer.name)
                            .register(registry);
                }
            }
        };
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /**
     * Queues a copy of the bytes, or drops them all when they do not fit; never waits for the console. The writer
     * thread's own writes always fit: they are its warning of what was dropped, at most one per
     * {@link #WARNING_INTERVAL interval}, logged while the buffer is often still nearly full, and a dropped warning
     * would be counted in the next one as a single write when thousands were lost (found by an attacking helper).
     */
    @Override
    public void write(byte[] bytes, int offset, int length) {
        if (length <= 0) {
            return;
        }
        synchronized (this) {
            if (length > capacity - waitingBytes && Thread.currentThread() != writer) {
                if (unreported == 0) {
                    firstUnreportedNanos = System.nanoTime();
                }
                dropped++;
                droppedBytes += length;
                unreported++;
                unreportedBytes += length;
                return;
            }
            byte[] copy = new byte[length];
            System.arraycopy(bytes, offset, copy, 0, length);
            waiting.add(copy);
            waitingBytes += length;
            notifyAll();
        }
    }

    /** Writes dropped so far. */
    synchronized long dropped() {
        return dropped;
    }

    /** Bytes dropped so far. */
    synchronized long droppedBytes() {
        return droppedBytes;
    }

    /**
     * Waits until everything written so far is out on the console, at most {@code timeout}.
     *
     * @return whether it is
     */
    synchronized boolean awaitWritten(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            for (long left = timeout.toNanos(); !waiting.isEmpty() || writing; left = deadline - System.nanoTime()) {
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return true;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * The writer thread: takes what waits, writes it out in system calls of up to {@link #BATCH_BYTES}, warns of what
     * was dropped. Its own copy buffer, not a {@link java.io.BufferedOutputStream}: that one keeps the bytes of a
     * write that failed (a full disk) and writes them again before the next ones, as stale or doubled lines. A write
     * that failed may have put part of a line out (a file that reached its size limit takes what fits), so the first
     * write after a failure starts with a line break: the cut line ends there instead of running into the next one.
     * With nothing to write, it still wakes to warn of a drop that came within the interval after the last warning,
     * once the interval is over: else a console that stalled and took output again, with nothing logged after, would
     * never tell of it (found by an attacking helper).
     */
    private void writeOut() {
        List<byte[]> batch = new ArrayList<>();
        byte[] chunk = new byte[BATCH_BYTES];
        boolean failed = false;
        while (true) {
            synchronized (this) {
                writing = false;
                notifyAll();
                while (waiting.isEmpty()) {
                    boolean toWarn = unreported > 0 && !failed;
                    long warnIn = warningIntervalNanos - (System.nanoTime() - lastWarning);
                    if (toWarn && warnIn <= 0) {
                        break;
                    }
                    try {
                        if (toWarn) {
                            wait(Math.max(1, warnIn / 1_000_000));
                        } else {
                            wait();
                        }
                    } catch (InterruptedException ex) {
                        // Not ours to end: the writer lives as long as the JVM.
                    }
                }
                batch.addAll(waiting);
                waiting.clear();
                waitingBytes = 0;
                writing = true;
            }
            // The space is free again as soon as the batch is taken: what is held is the batch plus the buffer, at
            // most twice the capacity.
            try {
                int filled = 0;
                if (failed) {
                    chunk[filled++] = '\n';
                }
                for (byte[] bytes : batch) {
                    if (filled > 0 && filled + bytes.length > chunk.length) {
                        console.write(chunk, 0, filled);
                        filled = 0;
                    }
                    if (bytes.length >= chunk.length) {
                        console.write(bytes);
                    } else {
                        System.arraycopy(bytes, 0, chunk, filled, bytes.length);
                        filled += bytes.length;
                    }
                }
                if (filled > 0) {
                    console.write(chunk, 0, filled);
                }
                console.flush();
                failed = false;
                warnOfDropped();
            } catch (IOException ex) {
                failed = true;
                // A console that is gone (a closed pipe) or full (a disk): what it did not take is dropped like what
                // did not fit, and warned of once it takes output again.
                long bytes = batch.stream().mapToLong(written -> written.length).sum();
                synchronized (this) {
                    if (unreported == 0) {
                        firstUnreportedNanos = System.nanoTime();
                    }
                    dropped += batch.size();
                    droppedBytes += bytes;
                    unreported += batch.size();
                    unreportedBytes += bytes;
                }
            }
            batch.clear();
        }
    }

    /** After a write that went out, warns of what was dropped since the last warning, once per interval. */
    private void warnOfDropped() {
        long count;
        long bytes;
        long since;
        long now = System.nanoTime();
        synchronized (this) {
            if (unreported == 0 || now - lastWarning < warningIntervalNanos) {
                return;
            }
            count = unreported;
            bytes = unreportedBytes;
            since = firstUnreportedNanos;
            unreported = 0;
            unreportedBytes = 0;
            lastWarning = now;
        }
        log.warn("Dropped {} writes ({} bytes) to {} in the last {} s: the console took no output while {} bytes of it "
                        + "were waiting, as a pipe nobody reads or a paused terminal does (shepherd.console.dropped)",
                count, bytes, name, Math.max(1, Duration.ofNanos(now - since).toSeconds()), capacity);
    }
}
