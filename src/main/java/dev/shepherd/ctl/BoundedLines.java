package dev.shepherd.ctl;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The lines of a stream the master sends (its event stream), each kept up to {@code maxChars} characters and the
 * rest of it skipped unread into memory: {@link java.io.BufferedReader#readLine} would hold a line without end
 * whole. Lines end at LF, CR or CRLF, as the WHATWG server-sent events format has them. One reader thread; the
 * caller closes what the reader reads from (not the reader: a {@link java.io.BufferedReader} that another thread
 * reads holds its lock until the read returns, so closing it would wait for the next line).
 */
final class BoundedLines implements Iterator<String> {

    private final Reader reader;
    private final int maxChars;
    private String next;
    private boolean afterCarriageReturn;
    private boolean ended;

    private BoundedLines(Reader reader, int maxChars) {
        this.reader = reader;
        this.maxChars = maxChars;
    }

    static Stream<String> of(Reader reader, int maxChars) {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(new BoundedLines(reader, maxChars),
                Spliterator.ORDERED | Spliterator.NONNULL), false);
    }

    @Override
    public boolean hasNext() {
        if (next == null && !ended) {
            next = read();
        }
        return next != null;
    }

    @Override
    public String next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        String line = next;
        next = null;
        return line;
    }

    private String read() {
        StringBuilder line = new StringBuilder();
        try {
            for (int c = reader.read(); c >= 0; c = reader.read()) {
                if (afterCarriageReturn) {
                    afterCarriageReturn = false;
                    if (c == '\n') {
                        continue;
                    }
                }
                if (c == '\n' || c == '\r') {
                    afterCarriageReturn = c == '\r';
                    return line.toString();
                }
                if (line.length() < maxChars) {
                    line.append((char) c);
                }
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        ended = true;
        return line.isEmpty() ? null : line.toString();
    }
}
