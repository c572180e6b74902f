package dev.shepherd.worker;

import dev.shepherd.TerminalText;

import java.nio.file.Path;
import java.util.List;

/**
 * The files a worker slot's output also goes to, one per stream, as PM2 writes {@code ~/.pm2/logs/<app>-out.log} and
 * {@code <app>-error.log}: {@code worker-<index>-out.log} and {@code worker-<index>-err.log}, shared by the worker ids
 * that hold the slot in turn (a restarted or replaced worker writes on where the last one stopped), each rotated by
 * size ({@link LogFile}). Each line is written as the master's log shows it, control characters in caret notation
 * ({@link TerminalText}): the files are read with {@code tail -f} on terminals. Thread-safe.
 */
public final class LogFiles {

    /** No files: the output goes to the log buffer and the master's log only. */
    public static final LogFiles NONE = new LogFiles(null, null);

    private final LogFile out;
    private final LogFile err;

    private LogFiles(LogFile out, LogFile err) {
        this.out = out;
        this.err = err;
    }

    /** The files of slot {@code index} in {@code directory}, each at most {@code maxFiles} × {@code maxSize}. */
    public static LogFiles of(Path directory, int index, long maxSize, int maxFiles) {
        return new LogFiles(new LogFile(directory.resolve("worker-" + index + "-out.log"), maxSize, maxFiles),
                new LogFile(directory.resolve("worker-" + index + "-err.log"), maxSize, maxFiles));
    }

    /** Whether the output goes to files at all (not {@link #NONE}). */
    public boolean any() {
        return out != null;
    }

    /**
     * Where the lines of {@code stream} go, or of both streams when it is null (stdout's file first), as absolute
     * paths; none without files. Each file's older lines are in its rotated files ({@code .1}, {@code .2}, ...).
     */
    public List<Path> paths(LogBuffer.Stream stream) {
        if (!any()) {
            return List.of();
        }
        return stream == null ? List.of(out.path().toAbsolutePath(), err.path().toAbsolutePath())
                : List.of((stream == LogBuffer.Stream.STDERR ? err : out).path().toAbsolutePath());
    }

    /** Has both files open their paths again at their next line ({@link LogFile#reopen()}). Any thread; never waits. */
    public void reopen() {
        if (any()) {
            out.reopen();
            err.reopen();
        }
    }

    /** Writes a line of {@code stream}, as written by the worker; on the pump's thread. */
    void write(LogBuffer.Stream stream, String line) {
        LogFile file = stream == LogBuffer.Stream.STDERR ? err : out;
        if (file != null) {
            file.write(TerminalText.safe(line));
        }
    }
}
