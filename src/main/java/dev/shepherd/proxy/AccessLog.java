package dev.shepherd.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The proxy's access log ({@code fleet.proxy.access-log.enabled}): a line per request in nginx's {@code combined}
 * format, then the request time, the worker that answered and the attempts it took:
 * <pre>
 * 192.0.2.7 - - [05/Dec/2026:00:50:25 +0000] "GET /a?b=1 HTTP/1.1" 200 1234 "-" "curl/8.5.0" rt=0.003 worker=2 attempts=1
 * </pre>
 * <ul>
 *   <li>the client: the connection's peer (nginx's {@code $remote_addr}), or behind a trusted proxy the client it
 *       vouches for ({@link TrustedProxies#client}, nginx's realip module);</li>
 *   <li>the time the line was made, in the master's time zone (nginx's {@code $time_local});</li>
 *   <li>the request line as the client sent it (an absolute-form target and {@code HTTP/1.0} as they came, before the
 *       proxy rewrote them for a worker), {@code "-"} when the proxy refused the request before it had one;</li>
 *   <li>the status sent: the worker's, the proxy's own (502, 503, 504, 4xx refusals), {@code 101} for a tunnel
 *       (a WebSocket), logged when it ends with the bytes the worker sent through it and its whole time
 *       ({@link #opened}); or one never sent, as nginx logs them: {@code 499} when the client
 *       closed its connection before a response began, {@code 444} when the proxy closed it at the end of the
 *       shutdown's drain;</li>
 *   <li>the bytes after the response's head passed to the client's connection, chunk framing included (nginx's
 *       {@code $body_bytes_sent}; 0 for the proxy's own answers);</li>
 *   <li>{@code Referer} and {@code User-Agent}, {@code "-"} when absent;</li>
 *   <li>{@code rt}: seconds from the first bytes of the request head to the end, in milliseconds' precision (nginx's
 *       {@code $request_time}), {@code -} for a refused head;</li>
 *   <li>{@code worker}: the id of the worker whose response was sent, or that had the request when it ended without
 *       one (499, 444; {@code -}: none), and {@code attempts}.</li>
 * </ul>
 * The client's bytes are escaped as nginx escapes them ({@code "}, {@code \} and bytes outside printable ASCII as
 * {@code \xHH}), so a line is one line whatever the client sent; the target is cut at {@link #MAX_TARGET}
 * characters and each header at {@link #MAX_HEADER} ({@code ...} marks a cut), as HAProxy cuts its log lines.
 *
 * <p>Lines go to the SLF4J logger {@value #LOGGER} at INFO, written by a thread of its own: an event loop hands its
 * line over to a queue of {@link #CAPACITY} and never waits for the log, since a console or journald that blocks
 * would stop the proxy with it. A line that finds the queue full is dropped and counted
 * ({@code shepherd.proxy.access.log.dropped}), with a warning at most every ten seconds: HAProxy drops its log
 * lines likewise when its log server cannot keep up; the writer says so, so that no event loop waits for the log
 * then either. Thread-safe: every event loop logs through one.
 */
public final class AccessLog implements AutoCloseable {

    /** The logger the lines go to: its level and appenders are the operator's, as for any Spring Boot logger. */
    public static final String LOGGER = "shepherd.access";
    /**
     * Lines that wait for the writer at most: about 13 MB of heap with every field at its longest (3.1 KB of Latin-1
     * text each: Netty decodes a head byte for character).
     */
    static final int CAPACITY = 4096;
    static final int MAX_TARGET = 2048;
    static final int MAX_HEADER = 512;
    /** Methods are short tokens (RFC 9110 §9); a longer one is a client's invention. */
    static final int MAX_METHOD = 32;

    private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH);
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /** One request's line, its fields as they came, cut to size on the event loop. */
    record Entry(long epochMillis, String client, String method, String target, String version, int status, long bytes,
                 long nanos, String referer, String userAgent, int worker, int attempts) {
    }

    private final BlockingQueue<Entry> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final Counter dropped;
    /** Lines dropped since the writer last warned of them; the writer warns, so that no event loop waits for a log. */
    private final AtomicLong droppedSinceWarning = new AtomicLong();
    private final Consumer<String> sink;
    private final ZoneId zone;
    private final Thread writer;
    private volatile boolean closed;
    /** The writer's own: the last second formatted and its text, and when it last warned of dropped lines. */
    private long second = Long.MIN_VALUE;
    private String secondText;
    private long lastWarning = System.nanoTime() - OccasionalWarning.INTERVAL_NANOS;
    /** The writer's own: how the last line that could not be written failed, until warned of. */
    private String lastFailure;

    /** Lines to the {@value #LOGGER} logger, times in the system's zone. */
    AccessLog(MeterRegistry registry) {
        this(registry, LoggerFactory.getLogger(LOGGER)::info, ZoneId.systemDefault());
    }

    /** {@code sink}: where each line goes, called on the writer thread only. */
    AccessLog(MeterRegistry registry, Consumer<String> sink, ZoneId zone) {
        this.sink = sink;
        this.zone = zone;
        this.dropped = Counter.builder("shepherd.proxy.access.log.dropped")
                .description("Access log lines dropped because the log could not keep up (fleet.proxy.access-log)")
                .register(registry);
        this.writer = new Thread(this::write, "access-log");
        writer.setDaemon(true);
        writer.start();
    }

    /**
     * Logs one request; never blocks. Event loop.
     *
     * @param client     the client's address: the connection's peer, or the client a trusted peer vouches for
     * @param request    the request as parsed; null when the proxy refused it before it had a request line
     * @param status     the status sent, or 499
     * @param bytes      the response body's bytes passed to the client
     * @param startNanos {@link System#nanoTime()} when the request head was read; -1: not known
     * @param worker     the id of the worker that answered; -1: none
     * @param attempts   the attempts made on workers
     */
    void request(String client, HttpRequest request, int status, long bytes, long startNanos, int worker,
                 int attempts) {
        request(client, request, request == null ? null : request.uri(),
                request == null ? null : request.protocolVersion(), status, bytes, startNanos, worker, attempts);
    }

    /**
     * Logs one forwarded request with its request line as the client sent it, before the proxy rewrote it for a
     * worker (an absolute-form target, HTTP/1.0); never blocks. Event loop. The rest as
     * {@link #request(String, HttpRequest, int, long, long, int, int)}.
     */
    void request(String client, RequestHead head, int status, long bytes, long startNanos, int worker, int attempts) {
        request(client, head.request(), head.clientTarget(), head.clientVersion(), status, bytes, startNanos, worker,
                attempts);
    }

    private void request(String client, HttpRequest request, String target, HttpVersion version, int status,
                         long bytes, long startNanos, int worker, int attempts) {
        if (closed) {
            // Past the close nothing is written: counted, as a line the queue had no room for.
            dropped.increment();
            return;
        }
        offer(entry(client, request, target, version, status, bytes,
                startNanos < 0 ? -1 : System.nanoTime() - startNanos, worker, attempts));
    }

    /**
     * The line of a request whose worker switched protocols, made now and logged when its tunnel ends
     * ({@link Tunnel}), as nginx logs a WebSocket when it closes: status 101, the bytes the worker sent through it,
     * the time from the head's first bytes to the end. Its fields are cut now, so what the tunnel holds meanwhile
     * is one small line. Event loop.
     */
    Opened opened(String client, RequestHead head, long startNanos, int worker, int attempts) {
        return new Opened(entry(client, head.request(), head.clientTarget(), head.clientVersion(), 101, 0, -1, worker,
                attempts), startNanos);
    }

    /** A tunnel's line, to be logged when it ends ({@link #opened}). */
    final class Opened {

        private final Entry entry;
        private final long startNanos;

        private Opened(Entry entry, long startNanos) {
            this.entry = entry;
            this.startNanos = startNanos;
        }

        /** Logs the line with the {@code bytes} sent to the client through the tunnel; never blocks. Event loop. */
        void ended(long bytes) {
            if (closed) {
                dropped.increment();
                return;
            }
            offer(new Entry(System.currentTimeMillis(), entry.client(), entry.method(), entry.target(),
                    entry.version(), entry.status(), bytes, System.nanoTime() - startNanos, entry.referer(),
                    entry.userAgent(), entry.worker(), entry.attempts()));
        }
    }

    private static Entry entry(String client, HttpRequest request, String target, HttpVersion version, int status,
                               long bytes, long nanos, int worker, int attempts) {
        return request == null
                ? new Entry(System.currentTimeMillis(), client, null, null, null, status, bytes, nanos, null, null,
                        worker, attempts)
                : new Entry(System.currentTimeMillis(), client, cut(request.method().name(), MAX_METHOD),
                        cut(target, MAX_TARGET), version.text(), status, bytes, nanos,
                        cut(request.headers().get(HttpHeaderNames.REFERER), MAX_HEADER),
                        cut(request.headers().get(HttpHeaderNames.USER_AGENT), MAX_HEADER), worker, attempts);
    }

    private void offer(Entry entry) {
        if (!queue.offer(entry)) {
            dropped.increment();
            droppedSinceWarning.incrementAndGet();
        }
    }

    /**
     * Writes what is queued, then stops the writer; waits up to two seconds. Lines still queued then are dropped,
     * counted and warned of: the log is left as it is, and the operator told how much of its end is missing.
     */
    @Override
    public void close() {
        closed = true;
        try {
            writer.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
        List<Entry> left = new ArrayList<>();
        queue.drainTo(left);
        if (!left.isEmpty()) {
            dropped.increment(left.size());
            log.warn("Access log: {} lines of the last requests dropped at shutdown; the log did not write them within "
                    + "2 s (see the logger " + LOGGER + ")", left.size());
        }
    }

    private void write() {
        while (!closed || !queue.isEmpty()) {
            Entry entry;
            try {
                entry = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                return;
            }
            if (entry != null) {
                try {
                    sink.accept(format(entry));
                } catch (RuntimeException failed) {
                    // An appender that throws loses this line, not the log: counted and warned of as a drop.
                    dropped.increment();
                    droppedSinceWarning.incrementAndGet();
                    lastFailure = failed.toString();
                }
            }
            warnOfDroppedLines();
        }
    }

    /** At most every ten seconds, on the writer: a line that says how many lines were dropped since the last. */
    private void warnOfDroppedLines() {
        long now = System.nanoTime();
        if (droppedSinceWarning.get() > 0 && now - lastWarning >= OccasionalWarning.INTERVAL_NANOS) {
            lastWarning = now;
            String failure = lastFailure;
            lastFailure = null;
            log.warn("Access log: {} lines dropped since the last warning; {} (see the logger " + LOGGER + ")",
                    droppedSinceWarning.getAndSet(0), failure == null ? "the log does not keep up with the requests"
                            : "writing one failed: " + failure);
        }
    }

    /** The line of {@code entry}. Writer thread (the time cache is its own). */
    String format(Entry entry) {
        StringBuilder line = new StringBuilder(256);
        line.append(entry.client()).append(" - - [").append(time(entry.epochMillis())).append("] \"");
        if (entry.method() == null) {
            line.append('-');
        } else {
            escape(line, entry.method(), MAX_METHOD);
            line.append(' ');
            escape(line, entry.target(), MAX_TARGET);
            line.append(' ').append(entry.version());
        }
        line.append("\" ").append(entry.status()).append(' ').append(entry.bytes()).append(' ');
        quoted(line, entry.referer());
        line.append(' ');
        quoted(line, entry.userAgent());
        line.append(" rt=");
        if (entry.nanos() < 0) {
            line.append('-');
        } else {
            long millis = entry.nanos() / 1_000_000;
            long fraction = millis % 1000;
            line.append(millis / 1000).append('.').append(fraction < 100 ? fraction < 10 ? "00" : "0" : "").append(fraction);
        }
        line.append(" worker=");
        if (entry.worker() < 0) {
            line.append('-');
        } else {
            line.append(entry.worker());
        }
        return line.append(" attempts=").append(entry.attempts()).toString();
    }

    private String time(long epochMillis) {
        long at = Math.floorDiv(epochMillis, 1000);
        if (at != second) {
            second = at;
            secondText = TIME.format(Instant.ofEpochSecond(at).atZone(zone));
        }
        return secondText;
    }

    private static void quoted(StringBuilder line, String value) {
        if (value == null) {
            line.append("\"-\"");
            return;
        }
        line.append('"');
        escape(line, value, MAX_HEADER);
        line.append('"');
    }

    /** {@code value} as nginx escapes a variable in its log; {@code ...} after it when it was cut at {@code max}. */
    private static void escape(StringBuilder line, String value, int max) {
        for (int i = 0; i < Math.min(value.length(), max); i++) {
            char c = value.charAt(i);
            if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
                line.append(c);
            } else if (c <= 0xFF) {
                hex(line, c);
            } else {
                for (byte b : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
                    hex(line, b & 0xFF);
                }
            }
        }
        if (value.length() > max) {
            line.append("...");
        }
    }

    private static void hex(StringBuilder line, int b) {
        line.append("\\x").append(HEX[b >> 4]).append(HEX[b & 0xF]);
    }

    /**
     * {@code value} cut to {@code max} characters, one more kept as the mark that it was cut; null stays null. The
     * rest is let go on the event loop, so that the queue never holds a client's megabyte.
     */
    private static String cut(String value, int max) {
        return value == null || value.length() <= max ? value : value.substring(0, max + 1);
    }
}
