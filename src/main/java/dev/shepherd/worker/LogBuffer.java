package dev.shepherd.worker;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last lines written by one worker id, across all its processes, so the lines before a crash can still be
 * read after the replacement has started. Bounded twice: at most {@code maxLines} lines and at most
 * {@code maxBytes} bytes of text (counted as UTF-8; the oldest lines go first, and the newest line is always
 * kept). Each line gets the next sequence number of the id, from 1 (its {@code seq}, as journald's cursor names an
 * entry), so that a reader that follows the lines asks for those after the last it got ({@link #after}) and learns
 * how many were dropped before it read them, where comparing tails could only guess; and the next number of its
 * stream's lines ({@code streamSeq}), so that a reader of one stream does the same with that stream's lines alone
 * ({@link #afterInStream}): which stream a dropped line came from is not kept, but each stream's lines are dropped
 * oldest first too. Thread-safe (written by output pumps, read by the admin API and the supervisor).
 */
public final class LogBuffer {

    /** Which of a process's outputs a line came from, as Docker's logs name them. */
    public enum Stream {
        STDOUT, STDERR;

        /** The name in the API and on the command line: {@code stdout}, {@code stderr}. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One line of output, tagged with the process that wrote it and the stream it wrote it to. */
    public record Line(long pid, Instant at, String text, Stream stream) {

        /** A line of standard output. */
        public Line(long pid, Instant at, String text) {
            this(pid, at, text, Stream.STDOUT);
        }
    }

    /**
     * A line, its sequence number and its number among its stream's lines: the {@code seq}s held are consecutive, the
     * oldest first, and so are the {@code streamSeq}s of each stream's lines held.
     */
    public record Entry(long seq, long streamSeq, Line line) {
    }

    /**
     * What followed a sequence number: the lines held after it, and how many lines after it were dropped before
     * (0 when none): those numbered from the number asked after up to {@code entries}' first.
     */
    public record Page(long missed, List<Entry> entries) {
    }

    /** A held line with its numbers and its size in UTF-8 bytes. */
    private record Held(long seq, long streamSeq, Line line, int size) {

        Entry entry() {
            return new Entry(seq, streamSeq, line);
        }
    }

    private final int maxLines;
    private final long maxBytes;
    private final ArrayDeque<Held> lines;
    private long bytes;
    /** The number of the newest line; 0 before the first. */
    private long newestSeq;
    /** The number of each stream's newest line, by {@link Stream#ordinal}; 0 before its first. */
    private final long[] newestStreamSeq = new long[Stream.values().length];
    /** How much of this id's output goes to the master's log, shared by its processes and its slot's other ids. */
    private final LogAllowance allowance;
    /** The files its output also goes to, its slot's. */
    private final LogFiles files;

    /** A buffer whose byte bound is what {@code maxLines} lines of 8 KiB hold. */
    public LogBuffer(int maxLines) {
        this(maxLines, maxLines * 8192L);
    }

    public LogBuffer(int maxLines, long maxBytes) {
        this(maxLines, maxBytes, new LogAllowance());
    }

    /** A buffer whose lines go to the master's log within {@code allowance}, which other buffers may share. */
    public LogBuffer(int maxLines, long maxBytes, LogAllowance allowance) {
        this(maxLines, maxBytes, allowance, LogFiles.NONE);
    }

    /** As {@link #LogBuffer(int, long, LogAllowance)}, its lines also written to {@code files}, its slot's. */
    public LogBuffer(int maxLines, long maxBytes, LogAllowance allowance, LogFiles files) {
        if (maxLines < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("a log buffer holds at least one line and one byte");
        }
        this.maxLines = maxLines;
        this.maxBytes = maxBytes;
        this.allowance = allowance;
        this.files = files;
        this.lines = new ArrayDeque<>(Math.min(maxLines, 1024));
    }

    /** What of this buffer's lines may go to the master's log, shared with the buffers of its slot's other ids. */
    public LogAllowance allowance() {
        return allowance;
    }

    /** The files this buffer's lines also go to, its slot's: {@link LogFiles#NONE} without a log directory. */
    public LogFiles files() {
        return files;
    }

    /** The rate limit of this worker id's lines in the master's log (its {@link LogAllowance}'s). */
    LogRateLimit rateLimit(LogRateLimit.Rule rule) {
        return allowance.limit(rule);
    }

    public synchronized void add(Line line) {
        int size = utf8Length(line.text());
        while (!lines.isEmpty() && (lines.size() >= maxLines || bytes + size > maxBytes)) {
            bytes -= lines.removeFirst().size();
        }
        lines.addLast(new Held(++newestSeq, ++newestStreamSeq[line.stream().ordinal()], line, size));
        bytes += size;
    }

    /** The newest {@code count} lines, oldest first. */
    public List<Line> tail(int count) {
        return last(count, null).stream().map(Entry::line).toList();
    }

    /** The newest {@code count} lines of stream {@code only} (null: of both), with their numbers, oldest first. */
    public synchronized List<Entry> last(int count, Stream only) {
        ArrayDeque<Entry> result = new ArrayDeque<>();
        var newestFirst = lines.descendingIterator();
        while (newestFirst.hasNext() && result.size() < count) {
            Held held = newestFirst.next();
            if (only == null || held.line().stream() == only) {
                result.addFirst(held.entry());
            }
        }
        return List.copyOf(result);
    }

    /**
     * The first {@code count} lines of stream {@code only} (null: of both) held after line {@code seq}, oldest first,
     * and how many lines after it were dropped before this, of both streams (which stream a dropped line came from is
     * not kept): a reader that asks again after the last entry it got misses none, or learns how many it missed.
     * Holds at most {@code count} entries whatever the buffer's size: a follower far behind, asking for one line, made
     * a list of the whole buffer (an attacking helper's 40 followers took a master with the largest buffers to 3 GB).
     *
     * @param seq a line's number, 0 for before the first; at most {@link #newestSeq()}
     */
    public synchronized Page after(long seq, int count, Stream only) {
        if (seq < 0 || seq > newestSeq) {
            throw new IllegalArgumentException("no line " + seq + " in a log whose newest is " + newestSeq);
        }
        long oldest = newestSeq - lines.size() + 1;
        long start = Math.max(seq, oldest - 1);
        List<Entry> result = new ArrayList<>(Math.min(count, lines.size()));
        var oldestFirst = lines.iterator();
        // The numbers held are consecutive: the first start - (oldest - 1) lines are those up to start.
        for (long skip = start - (oldest - 1); skip > 0; skip--) {
            oldestFirst.next();
        }
        while (oldestFirst.hasNext() && result.size() < count) {
            Held held = oldestFirst.next();
            if (only == null || held.line().stream() == only) {
                result.add(held.entry());
            }
        }
        return new Page(start - seq, List.copyOf(result));
    }

    /**
     * As {@link #after}, by the numbers of one stream's lines: the first {@code count} lines of {@code stream} held
     * after its line {@code streamSeq}, oldest first, and how many of its lines after that one were dropped before
     * this (which {@link #after} can count of both streams only).
     *
     * @param streamSeq the number of a line of {@code stream}, 0 for before the first; at most
     *                  {@link #newestStreamSeq(Stream)}
     */
    public synchronized Page afterInStream(long streamSeq, int count, Stream stream) {
        long newest = newestStreamSeq[stream.ordinal()];
        if (streamSeq < 0 || streamSeq > newest) {
            throw new IllegalArgumentException("no " + stream.label() + " line " + streamSeq + " in a log whose newest is "
                    + newest);
        }
        // The stream's lines held are its newest ones, numbered up to newest: those before are all dropped.
        long oldestHeld = newest + 1;
        List<Entry> result = new ArrayList<>(Math.min(count, lines.size()));
        for (Held held : lines) {
            if (held.line().stream() != stream) {
                continue;
            }
            oldestHeld = Math.min(oldestHeld, held.streamSeq());
            if (held.streamSeq() > streamSeq && result.size() < count) {
                result.add(held.entry());
            } else if (result.size() >= count) {
                break;
            }
        }
        return new Page(Math.max(0, oldestHeld - 1 - streamSeq), List.copyOf(result));
    }

    /** The number of the newest line written, 0 before the first (however many lines are held). */
    public synchronized long newestSeq() {
        return newestSeq;
    }

    /** The number of {@code stream}'s newest line written, 0 before its first. */
    public synchronized long newestStreamSeq(Stream stream) {
        return newestStreamSeq[stream.ordinal()];
    }

    /**
     * The newest lines written by one process, as plain text, oldest first: at most {@code count} lines and
     * {@code byteLimit} bytes, but at least the newest line.
     */
    public List<String> tailOf(long pid, int count, int byteLimit) {
        return tailOf(pid, null, count, byteLimit);
    }

    /** As {@link #tailOf(long, int, int)}, of the lines one process wrote to stream {@code only} (null: to either). */
    public synchronized List<String> tailOf(long pid, Stream only, int count, int byteLimit) {
        ArrayDeque<String> mine = new ArrayDeque<>();
        long total = 0;
        var newestFirst = lines.descendingIterator();
        while (newestFirst.hasNext() && mine.size() < count) {
            Held held = newestFirst.next();
            Line line = held.line();
            int size = held.size();
            if (line.pid() != pid || only != null && line.stream() != only) {
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
