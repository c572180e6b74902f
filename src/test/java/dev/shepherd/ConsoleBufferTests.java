package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

@ExtendWith(OutputCaptureExtension.class)
class ConsoleBufferTests {

    /** A console that takes nothing until it is released, then keeps what it is given. */
    private static final class StoppedConsole extends OutputStream {

        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch released = new CountDownLatch(1);
        final ByteArrayOutputStream taken = new ByteArrayOutputStream();

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            entered.countDown();
            try {
                released.await();
            } catch (InterruptedException ex) {
                throw new IOException(ex);
            }
            synchronized (taken) {
                taken.write(bytes, offset, length);
            }
        }

        String text() {
            synchronized (taken) {
                return taken.toString(StandardCharsets.UTF_8);
            }
        }
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void writesReachTheConsoleInTheirOrder() throws IOException {
        StoppedConsole console = new StoppedConsole();
        console.released.countDown();
        ConsoleBuffer buffer = new ConsoleBuffer("test", console, 1024);
        for (int i = 0; i < 100; i++) {
            write(buffer, "line " + i + "\n");
        }
        buffer.write('!');

        assertThat(buffer.awaitWritten(Duration.ofSeconds(10))).isTrue();
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            expected.append("line ").append(i).append('\n');
        }
        assertThat(console.text()).isEqualTo(expected + "!");
        assertThat(buffer.dropped()).isZero();
    }

    @Test
    void aStoppedConsoleNeverHoldsAWriterAndWhatDoesNotFitIsDroppedWholeCountedAndWarnedOf(CapturedOutput output)
            throws Exception {
        StoppedConsole console = new StoppedConsole();
        ConsoleBuffer buffer = new ConsoleBuffer("test", console, 100);
        // The writer takes the first line and waits on the console with it; 100 bytes wait behind it.
        write(buffer, "first-line\n");
        assertThat(console.entered.await(10, TimeUnit.SECONDS)).isTrue();

        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (int i = 0; i < 1000; i++) {
                write(buffer, String.format("line-%03d-6789\n", i));
            }
        }, "a write waited for the stopped console");
        assertThat(buffer.awaitWritten(Duration.ofMillis(50))).as("nothing reached the console").isFalse();
        long dropped = buffer.dropped();
        assertThat(dropped).as("all but the seven lines of 14 bytes that fit in 100").isEqualTo(993);
        assertThat(buffer.droppedBytes()).isEqualTo(993 * 14);

        console.released.countDown();
        assertThat(buffer.awaitWritten(Duration.ofSeconds(10))).isTrue();
        String written = console.text();
        assertThat(written.lines()).as("only whole lines, in order").allMatch(line -> line.equals("first-line")
                || line.matches("line-\\d{3}-6789"));
        assertThat(written.lines().skip(1).toList()).isSorted().hasSize((int) (1000 - dropped));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(output.getOut()).containsPattern(
                "WARN .*Dropped 993 writes \\(13902 bytes\\) to test in the last \\d+ s: the console took no output "
                        + "while 100 bytes of it were waiting"));
    }

    /**
     * Each system call carries whole writes and at most {@code PIPE_BUF} (4096) bytes unless one write alone is
     * longer, so a pipe takes it atomically: another writer of the pipe (a thread dump) never lands inside a line.
     */
    @Test
    void batchesAreWholeWritesThatAPipeTakesAtomically() throws Exception {
        StoppedConsole console = new StoppedConsole();
        List<String> calls = new ArrayList<>();
        OutputStream recording = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) throws IOException {
                console.write(bytes, offset, length);
                synchronized (calls) {
                    calls.add(new String(bytes, offset, length, StandardCharsets.UTF_8));
                }
            }
        };
        ConsoleBuffer buffer = new ConsoleBuffer("test", recording, 1 << 20);
        write(buffer, "first\n");
        assertThat(console.entered.await(10, TimeUnit.SECONDS)).isTrue();
        String line = "x".repeat(99) + "\n";
        for (int i = 0; i < 500; i++) {
            write(buffer, line);
        }
        String longLine = "y".repeat(9999) + "\n";
        write(buffer, longLine);
        console.released.countDown();

        assertThat(buffer.awaitWritten(Duration.ofSeconds(10))).isTrue();
        synchronized (calls) {
            assertThat(calls).hasSizeGreaterThan(2).contains(longLine).allSatisfy(call -> {
                assertThat(call).endsWith("\n");
                if (!call.equals(longLine)) {
                    assertThat(call.length()).isLessThanOrEqualTo(4096);
                }
            });
        }
    }

    /**
     * The warning of what was dropped goes through the buffer it warns of (the master's log goes to its stdout), and
     * is written even when what fits leaves no room for it.
     */
    @Test
    void theWarningOfDroppedWritesIsWrittenThoughTheBufferIsStillFull() throws Exception {
        StoppedConsole console = new StoppedConsole();
        ConsoleBuffer buffer = new ConsoleBuffer("test", console, 100);
        write(buffer, "first-line\n");
        assertThat(console.entered.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 1000; i++) {
            write(buffer, String.format("line-%03d-6789\n", i));
        }
        assertThat(buffer.dropped()).as("seven lines fit, two bytes are left").isEqualTo(993);

        PrintStream stdout = System.out;
        System.setOut(new PrintStream(buffer, true));
        try {
            console.released.countDown();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(console.text()).containsPattern(
                    "WARN .*Dropped 993 writes \\(13902 bytes\\) to test in the last \\d+ s"));
        } finally {
            System.setOut(stdout);
        }
        assertThat(buffer.dropped()).isEqualTo(993);
    }

    /**
     * A console that stalls a second time within the warning interval and then takes output again, with nothing logged
     * after: the writer wakes once the interval is over to tell of the second drop, which else was never told.
     */
    @Test
    void aSecondDropWithinTheIntervalIsWarnedOfOnceItIsOverThoughNothingIsLoggedAfter() throws Exception {
        GatedConsole console = new GatedConsole();
        ConsoleBuffer buffer = new ConsoleBuffer("test", console, 100, Duration.ofMillis(500));
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(buffer, true));
        try {
            for (int stall = 1; stall <= 2; stall++) {
                console.stall();
                write(buffer, "stall-" + stall + "\n");
                console.awaitBlocked();
                for (int i = 0; i < 1000; i++) {
                    write(buffer, String.format("line-%03d-6789\n", i));
                }
                console.resume();
                await().atMost(Duration.ofSeconds(10)).until(() -> buffer.awaitWritten(Duration.ZERO));
            }
            assertThat(buffer.dropped()).isEqualTo(2 * 993);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(console.text()).containsPattern(
                    "(?s)Dropped 993 writes .*stall-2\n.*WARN .*Dropped 993 writes \\(13902 bytes\\) to test"));
        } finally {
            System.setOut(stdout);
        }
    }

    /** A console that takes nothing while closed, and keeps what it is given. */
    private static final class GatedConsole extends OutputStream {

        private final ByteArrayOutputStream taken = new ByteArrayOutputStream();
        private boolean closed;
        private boolean blocked;

        synchronized void stall() {
            closed = true;
        }

        synchronized void resume() {
            closed = false;
            notifyAll();
        }

        synchronized void awaitBlocked() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!blocked && System.nanoTime() < deadline) {
                wait(100);
            }
            assertThat(blocked).as("the writer waits on the closed console").isTrue();
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
            try {
                while (closed) {
                    blocked = true;
                    notifyAll();
                    wait();
                }
            } catch (InterruptedException ex) {
                throw new IOException(ex);
            }
            blocked = false;
            taken.write(bytes, offset, length);
        }

        synchronized String text() {
            return taken.toString(StandardCharsets.UTF_8);
        }
    }

    /**
     * A file that was full and has room again: the console gets what came after, never a failed write again, and the
     * line the failed write cut is ended before the next one.
     */
    @Test
    void aConsoleThatFailedGetsNoStaleBytesOnceItTakesOutputAgainAndTheDropIsWarnedOf(CapturedOutput output)
            throws IOException {
        ByteArrayOutputStream taken = new ByteArrayOutputStream();
        CountDownLatch failed = new CountDownLatch(1);
        OutputStream full = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
                if (failed.getCount() > 0) {
                    failed.countDown();
                    taken.write(bytes, offset, Math.min(length, 4)); // what fit before the limit
                    throw new IOException("File too large");
                }
                taken.write(bytes, offset, length);
            }
        };
        ConsoleBuffer buffer = ConsoleBuffer.over("test", full);
        write(buffer, "lost-line\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> buffer.dropped() == 1);
        write(buffer, "next-line\n");

        assertThat(buffer.awaitWritten(Duration.ofSeconds(10))).isTrue();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            synchronized (full) {
                assertThat(taken.toString(StandardCharsets.UTF_8)).startsWith("lost\nnext-line\n")
                        .doesNotContain("lost-line");
            }
            assertThat(output.getOut()).containsPattern("WARN .*Dropped 1 writes \\(10 bytes\\) to test");
        });
    }

    @Test
    void aConsoleThatIsGoneCountsWhatItDidNotTake() throws IOException {
        OutputStream gone = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        ConsoleBuffer buffer = new ConsoleBuffer("test", gone, 1024);
        write(buffer, "a\n");
        write(buffer, "b\n");

        assertThat(buffer.awaitWritten(Duration.ofSeconds(10))).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> buffer.dropped() == 2);
        assertThat(buffer.droppedBytes()).isEqualTo(4);
    }
}
