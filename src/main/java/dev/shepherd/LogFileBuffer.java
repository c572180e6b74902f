package dev.shepherd;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.Appender;
import dev.shepherd.proxy.AccessLog;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.binder.MeterBinder;
import lombok.extern.slf4j.Slf4j;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.core.Ordered;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The master's log file ({@code logging.file.name} or {@code logging.file.path}: Spring Boot's {@code FILE}
 * appender) behind Logback's {@link AsyncAppender}, so no thread of the master waits on a disk that takes no output:
 * a hung NFS mount, a saturated disk, a file that is a pipe nobody reads. Written to straight, the first thread to log
 * held the appender's lock while its {@code write(2)} blocked, and every thread that logged after it waited too: the
 * admin port's first request, the supervisor before it respawns a worker (measured with a FIFO held open unread). The
 * console has its own buffer ({@link ConsoleBuffer}); this is the same trade for the file, made with Logback's own
 * appender: {@value #QUEUE_SIZE} log events wait at most, a line that does not fit is dropped and counted
 * ({@code shepherd.log.file.dropped}; about: one dropped in a race with the writer goes uncounted), and once half the
 * queue is free again a warning says how many, in the file and on the console (at most one per ten seconds): with
 * the next line logged, or from a watcher thread that looks every second while a drop is unreported, so that a stall
 * followed by silence is told too (found by an attacking helper). No level is dropped before the queue is
 * full (Logback's default drops INFO and below at 80 %). At shutdown Logback waits up to
 * {@value #MAX_FLUSH_MILLIS} ms for what is queued.
 *
 * <p>The access log's lines ({@link AccessLog#LOGGER}) are written to the file straight: they have a writer thread
 * and a bounded queue of their own already, whose lines are dropped and counted when the file stalls that thread, and
 * queued here a second time they cost 10 to 25 % of the proxy's keep-alive throughput on 2 CPUs (measured,
 * bench/RESULTS.md).
 *
 * <p>Installed once, when Spring Boot has set up logging ({@link ApplicationPreparedEvent}), for Shepherd's own
 * application only; a logging configuration of the user's own ({@code logging.config}) without an appender named
 * {@code FILE} is left as it is. Thread-safe: any thread logs; Logback's worker thread writes the file.
 */
@Slf4j
public final class LogFileBuffer extends AsyncAppender {

    /** Log events held for a file that takes none. */
    static final int QUEUE_SIZE = 4096;

    /** The longest the shutdown waits for queued events to be written. */
    static final int MAX_FLUSH_MILLIS = 2000;

    /** At most one warning of dropped lines per interval. */
    private static final long WARNING_INTERVAL_NANOS = 10_000_000_000L;

    private static volatile LogFileBuffer installed;

    private final AtomicLong dropped = new AtomicLong();
    private final Appender<ILoggingEvent> file;
    private final AtomicLong unreported = new AtomicLong();
    private volatile long firstUnreportedNanos;
    private volatile long lastWarningNanos = System.nanoTime() - WARNING_INTERVAL_NANOS;
    /** Woken by the first drop after a warning; waits for nothing else. */
    private final Object dropSignal = new Object();
    private Thread watcher;

    LogFileBuffer(Appender<ILoggingEvent> file) {
        this.file = file;
        setName("FILE_BUFFER");
        setQueueSize(QUEUE_SIZE);
        setDiscardingThreshold(0);
        setNeverBlock(true);
        setMaxFlushTime(MAX_FLUSH_MILLIS);
    }

    /**
     * Puts the root logger's {@code FILE} appender behind a started buffer, once per logger context; does nothing
     * when there is none (no log file configured).
     *
     * @return the buffer, or null when there is no file appender
     */
    static synchronized LogFileBuffer install(LoggerContext context) {
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        if (root.getAppender("FILE_BUFFER") instanceof LogFileBuffer buffer) {
            return buffer;
        }
        Appender<ILoggingEvent> file = root.getAppender("FILE");
        if (file == null) {
            return null;
        }
        LogFileBuffer buffer = new LogFileBuffer(file);
        buffer.setContext(context);
        buffer.addAppender(file);
        buffer.start();
        // Attached before the file is detached: a line logged meanwhile may be written twice, never lost.
        root.addAppender(buffer);
        root.detachAppender(file);
        return buffer;
    }

    /** {@code shepherd.log.file.dropped}: lines dropped because the log file took no output, for an installed buffer. */
    public static MeterBinder metrics() {
        return registry -> {
            LogFileBuffer buffer = installed;
            if (buffer != null) {
                FunctionCounter.builder("shepherd.log.file.dropped", buffer, LogFileBuffer::dropped)
                        .description("Log lines not written to the master's log file because it took no output and "
                                + QUEUE_SIZE + " lines were waiting")
                        .register(registry);
            }
        };
    }

    /** Lines dropped so far. */
    long dropped() {
        return dropped.get();
    }

    @Override
    protected void append(ILoggingEvent event) {
        if (AccessLog.LOGGER.equals(event.getLoggerName())) {
            warnOfDropped();
            file.doAppend(event);
            return;
        }
        if (getRemainingCapacity() == 0) {
            if (unreported.getAndIncrement() == 0) {
                firstUnreportedNanos = System.nanoTime();
                synchronized (dropSignal) {
                    dropSignal.notifyAll();
                }
            }
            dropped.incrementAndGet();
            return;
        }
        warnOfDropped();
        super.append(event);
    }

    @Override
    public void start() {
        super.start();
        watcher = new Thread(this::watch, "log-file-drops");
        watcher.setDaemon(true);
        watcher.start();
    }

    @Override
    public void stop() {
        if (watcher != null) {
            watcher.interrupt();
        }
        super.stop();
    }

    /**
     * The watcher thread: sleeps until a line is dropped, then looks every second until the drop is warned of (by the
     * next line logged, or here once half the queue is free and the interval is over).
     */
    private void watch() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                synchronized (dropSignal) {
                    while (unreported.get() == 0) {
                        dropSignal.wait();
                    }
                }
                Thread.sleep(1000);
                String message = dropWarning();
                if (message != null) {
                    // Through the loggers of this appender's own context: to the console and, queued, to the file.
                    ((LoggerContext) getContext()).getLogger(LogFileBuffer.class).warn(message);
                }
            }
        } catch (InterruptedException ex) {
            // stopped with the appender
        }
    }

    /** Once half the queue is free again, warns of the lines dropped since the last warning, once per interval. */
    private void warnOfDropped() {
        if (unreported.get() == 0) {
            return; // every line but after a stall: no clock read
        }
        String message = dropWarning();
        if (message == null) {
            return;
        }
        // The console gets it through the root logger (this appender is skipped there: Logback does not re-enter
        // an appender on the same thread); the file, through the queue.
        log.warn(message);
        Logger logger = ((LoggerContext) getContext()).getLogger(LogFileBuffer.class);
        super.append(new LoggingEvent(Logger.FQCN, logger, Level.WARN, message, null, null));
    }

    /**
     * The warning of the lines dropped since the last one, taking them as told; null when there are none, when the
     * last warning is less than the interval old, or while less than half the queue is free.
     */
    private String dropWarning() {
        long now = System.nanoTime();
        if (now - lastWarningNanos < WARNING_INTERVAL_NANOS || getRemainingCapacity() < QUEUE_SIZE / 2) {
            return null;
        }
        lastWarningNanos = now;
        long since = firstUnreportedNanos;
        long count = unreported.getAndSet(0);
        if (count == 0) {
            return null; // another thread warned of them first
        }
        return "Dropped " + count + " lines to the log file in the last "
                + Math.max(1, Duration.ofNanos(now - since).toSeconds()) + " s: it took no output while " + QUEUE_SIZE
                + " lines were waiting, as a hung or saturated disk does (shepherd.log.file.dropped)";
    }

    /**
     * After Spring Boot's logging is set up ({@code LoggingApplicationListener} runs at
     * {@code HIGHEST_PRECEDENCE + 20}, on the environment), for Shepherd's own application only.
     */
    public static final class Installer implements ApplicationListener<ApplicationPreparedEvent>, Ordered {

        @Override
        public void onApplicationEvent(ApplicationPreparedEvent event) {
            if (event.getSpringApplication().getAllSources().contains(ShepherdApplication.class)
                    && LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
                installed = install(context);
            }
        }

        @Override
        public int getOrder() {
            return Ordered.LOWEST_PRECEDENCE;
        }
    }
}
