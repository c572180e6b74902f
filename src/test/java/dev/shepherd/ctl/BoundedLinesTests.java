package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import java.io.Reader;
import java.io.StringReader;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class BoundedLinesTests {

    @Test
    void linesEndAtLfCrOrCrlfAndTheLastOneNeedsNoEnd() {
        assertThat(BoundedLines.of(new StringReader("a\nb\rc\r\n\nd"), 10)).containsExactly("a", "b", "c", "", "d");
    }

    @Test
    void aLineWithoutEndIsCutAndTheRestIsReadWithoutBeingKept() {
        long length = 50L * 1024 * 1024;
        AtomicLong served = new AtomicLong();
        // 50 Mi characters of one line that is never held: a reader that makes them up as they are read.
        Reader endless = new Reader() {
            @Override
            public int read(char[] buffer, int offset, int count) {
                long left = length - served.get();
                if (left <= 0) {
                    String tail = "\ndata: {}\n";
                    int at = (int) -left;
                    if (at >= tail.length()) {
                        return -1;
                    }
                    int n = Math.min(count, tail.length() - at);
                    tail.getChars(at, at + n, buffer, offset);
                    served.addAndGet(n);
                    return n;
                }
                int n = (int) Math.min(count, left);
                java.util.Arrays.fill(buffer, offset, offset + n, 'x');
                served.addAndGet(n);
                return n;
            }

            @Override
            public void close() {
            }
        };

        assertThat(BoundedLines.of(endless, 64)).containsExactly("x".repeat(64), "data: {}");
    }
}
