package dev.shepherd.worker;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Splits a worker's output bytes into lines with memory that does not depend on what the worker writes: a line
 * longer than {@code maxBytes} keeps its first {@code maxBytes} bytes (never half a UTF-8 character) followed by
 * {@code … [cut: 128 MiB line]}, and the rest of it is counted, not stored. Lines end at LF, CR or CRLF, as
 * {@link java.io.BufferedReader#readLine()} has them; the last line is given at {@link #finish()} even without
 * an end, and a line the worker left unended for a while at {@link #flushPartial()}. Bytes are decoded as UTF-8,
 * malformed ones as U+FFFD. Not thread-safe: one per output pump, which serializes its calls.
 */
final class LineCutter {

    private final byte[] line;
    private final Consumer<String> sink;
    private int length;
    /** Bytes of the current line beyond {@code line.length}, dropped. */
    private long dropped;
    private boolean afterCarriageReturn;
    /** The line before was given unended ({@link #flushPartial}): an end of line that comes next ends it, no more. */
    private boolean afterFlush;
    /** Lines given since {@link #linesGiven} was last asked. */
    private int given;

    LineCutter(int maxBytes, Consumer<String> sink) {
        if (maxBytes < 4) {
            throw new IllegalArgumentException("a line must be allowed at least 4 bytes (one UTF-8 character), not " + maxBytes);
        }
        this.line = new byte[maxBytes];
        this.sink = sink;
    }

    void feed(byte[] bytes, int offset, int count) {
        for (int i = offset; i < offset + count; i++) {
            byte b = bytes[i];
            if (afterCarriageReturn) {
                afterCarriageReturn = false;
                if (b == '\n') {
                    continue;
                }
            }
            if (afterFlush) {
                afterFlush = false;
                if ((b == '\n' || b == '\r') && length == 0) {
                    // The end of the line given unended: not an empty line of its own (an attacking helper counted
                    // 221 such of 1,423 lines, each pushing a real one out of the buffer).
                    afterCarriageReturn = b == '\r';
                    continue;
                }
            }
            if (b == '\n' || b == '\r') {
                emit();
                afterCarriageReturn = b == '\r';
            } else if (length < line.length) {
                line[length++] = b;
            } else {
                dropped++;
            }
        }
    }

    /** The output has ended: gives the last line if it had no end of line. */
    void finish() {
        if (length > 0 || dropped > 0) {
            emit();
        }
    }

    /** Whether bytes of a line without its end are held (a prompt, "Loading... " before its "done"). */
    boolean holdsPartial() {
        return length > 0 || dropped > 0;
    }

    /**
     * Gives the line held so far although it has not ended, as a line of its own: the worker wrote no more for a
     * while. What it writes next starts a new line. A UTF-8 character whose last bytes have not come yet is kept for
     * that next line, not decoded half; nothing is given when that is all there is.
     */
    void flushPartial() {
        if (dropped > 0) {
            emit();
            return;
        }
        int whole = length == 0 ? 0 : wholeCharacters();
        if (whole == 0) {
            return;
        }
        sink.accept(new String(line, 0, whole, StandardCharsets.UTF_8));
        given++;
        System.arraycopy(line, whole, line, 0, length - whole);
        length -= whole;
        afterFlush = true;
    }

    /** How many lines were given since the last call: what the output's budget charges per line. */
    int linesGiven() {
        int lines = given;
        given = 0;
        return lines;
    }

    private void emit() {
        given++;
        if (dropped == 0) {
            sink.accept(new String(line, 0, length, StandardCharsets.UTF_8));
        } else {
            String head = new String(line, 0, wholeCharacters(), StandardCharsets.UTF_8);
            sink.accept(head + "… [cut: " + size(length + dropped) + " line]");
        }
        length = 0;
        dropped = 0;
    }

    /** How many of the kept bytes end on a character boundary: a UTF-8 sequence cut off at the end is left out. */
    private int wholeCharacters() {
        int start = length - 1;
        while (start > 0 && length - start < 4 && (line[start] & 0xC0) == 0x80) {
            start--;
        }
        int lead = line[start] & 0xFF;
        int expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return start + expected > length ? start : length;
    }

    /** A byte count for people: {@code 900 bytes}, {@code 8 KiB}, {@code 1.5 MiB}, {@code 128 MiB}. */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double value = bytes / 1024.0;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        String number = value >= 10 ? Long.toString(Math.round(value)) : String.format(Locale.ROOT, "%.1f", value);
        return (number.endsWith(".0") ? number.substring(0, number.length() - 2) : number) + " " + units[unit];
    }
}
