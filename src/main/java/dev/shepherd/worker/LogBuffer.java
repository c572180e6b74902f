package dev.shepherd.worker;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last lines written by one worker id, across all its processes, so the lines before a crash can still be
 * read after the replacement has started. Bounded twice: at most {@code maxLines} lines and at most
 * {@code maxBytes} bytes of text (counted as UTF-8; the oldest lines go first, and the newest line is always
 * kept). Thread-safe (written by output pumps, read by the admin API and the supervisor).
 */
public final class LogBuffer {

    /** One line of output, tagged with the process that wrote it. */
    public record Line(long pid, Instant at, String text) {
    }

    private final int maxLines;
    private final long maxBytes;
    private final ArrayDeque<Line> lines;
    private final ArrayDeque<Integer> sizes;
    private long bytes;
    /** How much of this id's output goes to the master's log, shared by its processes and its slot's other ids. */
    private final LogAllowance allowance;

    /** A buffer whose byte bound is what {@code maxLines} lines of 8 KiB hold. */
    public LogBuffer(int maxLines) {
        this(maxLines, maxLines * 8192L);
    }

    public LogBuffer(int maxLines, long maxBytes) {
        this(maxLines, maxBytes, new LogAllowance());
    }

    /** A buffer whose lines go to the master's log within {@code allowance}, which other buffers may share. */
    public LogBuffer(int maxLines, long maxBytes, LogAllowance allowance) {
        if (maxLines < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("a log buffer holds at least one line and one byte");
        }
        this.maxLines = maxLines;
        this.maxBytes = maxBytes;
        this.allowance = allowance;
        this.lines = new ArrayDeque<>(Math.min(maxLines, 1024));
        this.sizes = new ArrayDeque<>(Math.min(maxLines, 1024));
    }

    /** What of this buffer's lines may go to the master's log, shared with the buffers of its slot's other ids. */
    public LogAllowance allowance() {
        return allowance;
    }

    /** The rate limit of this worker id's lines in the master's log (its {@link LogAllowance}'s). */
    LogRateLimit rateLimit(LogRateLimit.Rule rule) {
        return allowance.limit(rule);
    }

    public synchronized void add(Line line) {
        int size = utf8Length(line.text());
        while (!lines.isEmpty() && (lines.size() >= maxLines || bytes + size > maxBytes)) {
            lines.removeFirst();
            bytes -= sizes.removeFirst();
        }
        lines.addLast(line);
        sizes.addLast(size);
        bytes += size;
    }

    /** The newest {@code count} lines, oldest first. */
    public synchronized List<Line> tail(int count) {
        int skip = Math.max(0, lines.size() - count);
        List<Line> result = new ArrayList<>(Math.min(count, lines.size()));
        int index = 0;
        for (Line line : lines) {
            if (index++ >= skip) {
                result.add(line);
            }
        }
        return result;
    }

    /**
     * The newest lines written by one process, as plain text, oldest first: at most {@code count} lines and
     * {@code byteLimit} bytes, but at least the newest line.
     */
    public synchronized List<String> tailOf(long pid, int count, int byteLimit) {
        ArrayDeque<String> mine = new ArrayDeque<>();
        long total = 0;
        var newestFirst = lines.descendingIterator();
        var sizesNewestFirst = sizes.descendingIterator();
        while (newestFirst.hasNext() && mine.size() < count) {
            Line line = newestFirst.next();
            int size = sizesNewestFirst.next();
            if (line.pid() != pid) {
                continue;
            }
            if (!mine.isEmpty() && total + size > byteLimit) {
                break;
            }
            mine.addFirst(line.text());
            total += size;
        }
        return List.copyOf(mine);
    }

    /** The text held now, in UTF-8 bytes. */
    public synchronized long bytes() {
        return bytes;
    }

    public synchronized int size() {
        return lines.size();
    }

    static int utf8Length(String text) {
        int length = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                length++;
            } else if (c < 0x800) {
                length += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                length += 4;
                i++;
            } else {
                length += 3;
            }
        }
        return length;
    }
}
