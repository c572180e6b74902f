package dev.shepherd.worker;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last lines written by one worker id, across all its processes, so the lines before a crash can still be
 * read after the replacement has started. Bounded; thread-safe (written by output pumps, read by the admin API).
 */
public final class LogBuffer {

    /** One line of output, tagged with the process that wrote it. */
    public record Line(long pid, Instant at, String text) {
    }

    private final int capacity;
    private final ArrayDeque<Line> lines;

    public LogBuffer(int capacity) {
        this.capacity = capacity;
        this.lines = new ArrayDeque<>(Math.min(capacity, 1024));
    }

    public synchronized void add(Line line) {
        if (lines.size() == capacity) {
            lines.removeFirst();
        }
        lines.addLast(line);
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

    /** The newest {@code count} lines written by one process, as plain text. */
    public synchronized List<String> tailOf(long pid, int count) {
        List<String> mine = new ArrayList<>();
        for (Line line : lines) {
            if (line.pid() == pid) {
                mine.add(line.text());
            }
        }
        return List.copyOf(mine.subList(Math.max(0, mine.size() - count), mine.size()));
    }
}
