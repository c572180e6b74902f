package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LogBufferTests {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    @Test
    void keepsOnlyTheNewestLinesUpToItsCapacity() {
        LogBuffer buffer = new LogBuffer(3, 1 << 20);
        for (int i = 1; i <= 5; i++) {
            buffer.add(line(1, i));
        }
        assertThat(texts(buffer.tail(100))).containsExactly("line 3", "line 4", "line 5");
    }

    /** Buffers that share an allowance share one rate limit: the lines of either count against the same burst. */
    @Test
    void buffersSharingAnAllowanceShareOneBurstOfTheMastersLog() {
        LogAllowance allowance = new LogAllowance();
        LogRateLimit.Rule rule = new LogRateLimit.Rule(java.time.Duration.ofSeconds(30), 2);
        LogRateLimit.Reports quiet = new LogRateLimit.Reports() {
            @Override
            public void suppressing(int burst, java.time.Duration interval, java.time.Duration left) {
            }

            @Override
            public void suppressed(long count) {
            }
        };
        LogRateLimit old = new LogBuffer(3, 1 << 20, allowance).rateLimit(rule);
        LogRateLimit fresh = new LogBuffer(3, 1 << 20, allowance).rateLimit(rule);

        assertThat(old.admit(10, quiet)).isTrue();
        assertThat(fresh.admit(10, quiet)).isTrue();
        assertThat(fresh.admit(10, quiet)).as("the burst of 2 is spent by the two buffers together").isFalse();
        assertThat(new LogBuffer(3, 1 << 20).rateLimit(rule).admit(10, quiet)).as("a buffer of its own").isTrue();
    }

    @Test
    void tailGivesTheNewestLinesOldestFirst() {
        LogBuffer buffer = new LogBuffer(10, 1 << 20);
        for (int i = 1; i <= 5; i++) {
            buffer.add(line(1, i));
        }
        assertThat(texts(buffer.tail(2))).containsExactly("line 4", "line 5");
    }

    @Test
    void tailOfAnEmptyBufferIsEmpty() {
        assertThat(new LogBuffer(10, 1 << 20).tail(5)).isEmpty();
        assertThat(new LogBuffer(10, 1 << 20).tailOf(1, 5, 1 << 20)).isEmpty();
    }

    @Test
    void tailOfReturnsOnlyTheLinesOfThatProcess() {
        LogBuffer buffer = new LogBuffer(10, 1 << 20);
        buffer.add(line(100, 1));
        buffer.add(line(200, 2));
        buffer.add(line(100, 3));
        buffer.add(line(200, 4));
        buffer.add(line(100, 5));

        assertThat(buffer.tailOf(100, 10, 1 << 20)).containsExactly("line 1", "line 3", "line 5");
        assertThat(buffer.tailOf(100, 2, 1 << 20)).containsExactly("line 3", "line 5");
        assertThat(buffer.tailOf(200, 10, 1 << 20)).containsExactly("line 2", "line 4");
        assertThat(buffer.tailOf(300, 10, 1 << 20)).isEmpty();
    }

    @Test
    void linesOfAnEarlierProcessSurviveItsReplacementUntilPushedOut() {
        LogBuffer buffer = new LogBuffer(3, 1 << 20);
        buffer.add(line(100, 1));
        buffer.add(line(100, 2));
        buffer.add(line(200, 3));
        assertThat(buffer.tailOf(100, 10, 1 << 20)).containsExactly("line 1", "line 2");

        buffer.add(line(200, 4));
        assertThat(buffer.tailOf(100, 10, 1 << 20)).containsExactly("line 2");
    }

    @Test
    void tailKeepsThePidAndTimeOfEachLine() {
        LogBuffer buffer = new LogBuffer(10, 1 << 20);
        buffer.add(new LogBuffer.Line(77, T0, "hello"));
        assertThat(buffer.tail(1)).containsExactly(new LogBuffer.Line(77, T0, "hello"));
    }

    @Test
    void tailIsACopyThatLaterLinesDoNotChange() {
        LogBuffer buffer = new LogBuffer(10, 1 << 20);
        buffer.add(line(1, 1));
        List<LogBuffer.Line> tail = buffer.tail(10);
        buffer.add(line(1, 2));
        assertThat(texts(tail)).containsExactly("line 1");
    }

    @Test
    void keepsNoMoreBytesThanItsByteBoundDroppingTheOldestLines() {
        LogBuffer buffer = new LogBuffer(1000, 20);
        for (int i = 1; i <= 5; i++) {
            buffer.add(new LogBuffer.Line(1, T0, "12345678"));
        }

        assertThat(buffer.size()).isEqualTo(2);
        assertThat(buffer.bytes()).isEqualTo(16);
    }

    @Test
    void bytesAreCountedAsUtf8() {
        LogBuffer buffer = new LogBuffer(1000, 1000);

        buffer.add(new LogBuffer.Line(1, T0, "aé€😀"));

        assertThat(buffer.bytes()).isEqualTo(1 + 2 + 3 + 4);
    }

    @Test
    void lineLargerThanTheByteBoundIsKeptAloneAsTheNewest() {
        LogBuffer buffer = new LogBuffer(1000, 10);
        buffer.add(line(1, 1));

        buffer.add(new LogBuffer.Line(1, T0, "x".repeat(50)));

        assertThat(texts(buffer.tail(10))).containsExactly("x".repeat(50));
        assertThat(buffer.bytes()).isEqualTo(50);
    }

    @Test
    void floodOfLinesStaysWithinBothBounds() {
        LogBuffer buffer = new LogBuffer(100, 4096);
        for (int i = 0; i < 100_000; i++) {
            buffer.add(line(1, i));
        }

        assertThat(buffer.size()).isLessThanOrEqualTo(100);
        assertThat(buffer.bytes()).isLessThanOrEqualTo(4096);
        assertThat(texts(buffer.tail(1))).containsExactly("line 99999");
    }

    @Test
    void tailOfStopsAtItsByteLimitButGivesAtLeastTheNewestLine() {
        LogBuffer buffer = new LogBuffer(100, 1 << 20);
        buffer.add(new LogBuffer.Line(1, T0, "a".repeat(10)));
        buffer.add(new LogBuffer.Line(1, T0, "b".repeat(10)));
        buffer.add(new LogBuffer.Line(1, T0, "c".repeat(10)));

        assertThat(buffer.tailOf(1, 10, 25)).containsExactly("b".repeat(10), "c".repeat(10));
        assertThat(buffer.tailOf(1, 10, 5)).containsExactly("c".repeat(10));
    }

    @Test
    void linesAreNumberedFromOneAndKeepTheirNumbersWhenOlderOnesAreDropped() {
        LogBuffer buffer = new LogBuffer(3, 1 << 20);
        assertThat(buffer.newestSeq()).isZero();
        for (int i = 1; i <= 5; i++) {
            buffer.add(line(1, i));
        }

        assertThat(buffer.newestSeq()).isEqualTo(5);
        assertThat(buffer.last(10, null)).extracting(LogBuffer.Entry::seq).containsExactly(3L, 4L, 5L);
        assertThat(buffer.last(2, null)).extracting(entry -> entry.line().text()).containsExactly("line 4", "line 5");
    }

    @Test
    void afterGivesTheFirstLinesAfterTheNumberOldestFirst() {
        LogBuffer buffer = new LogBuffer(10, 1 << 20);
        for (int i = 1; i <= 6; i++) {
            buffer.add(line(1, i));
        }

        LogBuffer.Page page = buffer.after(2, 3, null);

        assertThat(page.missed()).isZero();
        assertThat(page.entries()).extracting(LogBuffer.Entry::seq).containsExactly(3L, 4L, 5L);
        assertThat(buffer.after(5, 3, null).entries()).extracting(LogBuffer.Entry::seq).containsExactly(6L);
        assertThat(buffer.after(6, 3, null).entries()).as("nothing after the newest yet").isEmpty();
        assertThat(buffer.after(0, 100, null).entries()).hasSize(6);
    }

    @Test
    void afterCountsTheLinesDroppedBeforeTheyWereRead() {
        LogBuffer buffer = new LogBuffer(3, 1 << 20);
        for (int i = 1; i <= 10; i++) {
            buffer.add(line(1, i));
        }

        LogBuffer.Page page = buffer.after(2, 100, null);

        assertThat(page.missed()).as("lines 3 to 7 were dropped; 8 is the oldest held").isEqualTo(5);
        assertThat(page.entries()).extracting(LogBuffer.Entry::seq).containsExactly(8L, 9L, 10L);
        assertThat(buffer.after(0, 1, null).missed()).isEqualTo(7);
        assertThat(buffer.after(0, 1, null).entries()).extracting(LogBuffer.Entry::seq).containsExactly(8L);
        assertThat(buffer.after(7, 100, null).missed()).isZero();
    }

    @Test
    void linesDroppedForTheByteBoundAreCountedToo() {
        LogBuffer buffer = new LogBuffer(1000, 20);
        for (int i = 1; i <= 5; i++) {
            buffer.add(new LogBuffer.Line(1, T0, "12345678"));
        }

        assertThat(buffer.after(0, 100, null).missed()).isEqualTo(3);
    }

    @Test
    void afterANumberNoLineHadIsRefused() {
        LogBuffer buffer = new LogBuffer(10, 1 << 20);
        buffer.add(line(1, 1));

        assertThatThrownBy(() -> buffer.after(2, 10, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> buffer.after(-1, 10, null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new LogBuffer(10, 1 << 20).after(0, 10, null)).isEqualTo(new LogBuffer.Page(0, List.of()));
    }

    @Test
    void oneStreamsLinesAreGivenAloneWithTheirNumbers() {
        LogBuffer buffer = new LogBuffer(10, 1 << 20);
        for (int i = 1; i <= 6; i++) {
            buffer.add(new LogBuffer.Line(1, T0, "line " + i, i % 3 == 0 ? LogBuffer.Stream.STDERR : LogBuffer.Stream.STDOUT));
        }

        assertThat(buffer.last(10, LogBuffer.Stream.STDERR)).extracting(LogBuffer.Entry::seq).containsExactly(3L, 6L);
        assertThat(buffer.last(1, LogBuffer.Stream.STDERR)).extracting(LogBuffer.Entry::seq).containsExactly(6L);
        assertThat(buffer.last(3, LogBuffer.Stream.STDOUT)).extracting(LogBuffer.Entry::seq).containsExactly(2L, 4L, 5L);
        assertThat(buffer.after(1, 10, LogBuffer.Stream.STDERR).entries()).extracting(LogBuffer.Entry::seq)
                .containsExactly(3L, 6L);
        assertThat(buffer.after(1, 1, LogBuffer.Stream.STDOUT).entries()).extracting(LogBuffer.Entry::seq)
                .as("the first of the stream after 1").containsExactly(2L);
        assertThat(buffer.after(0, 10, null).entries()).hasSize(6);
    }

    /** Each stream's lines are numbered apart too, and followed by those numbers, dropped ones counted per stream. */
    @Test
    void afterInStreamCountsTheLinesOfThatStreamDroppedBeforeTheyWereRead() {
        LogBuffer buffer = new LogBuffer(4, 1 << 20);
        for (int i = 1; i <= 10; i++) {
            // stderr: lines 3, 6, 9; stdout: the others.
            buffer.add(new LogBuffer.Line(1, T0, "line " + i, i % 3 == 0 ? LogBuffer.Stream.STDERR : LogBuffer.Stream.STDOUT));
        }

        assertThat(buffer.newestStreamSeq(LogBuffer.Stream.STDERR)).isEqualTo(3);
        assertThat(buffer.newestStreamSeq(LogBuffer.Stream.STDOUT)).isEqualTo(7);
        assertThat(buffer.last(10, null)).extracting(LogBuffer.Entry::streamSeq).containsExactly(5L, 6L, 3L, 7L);
        LogBuffer.Page err = buffer.afterInStream(1, 10, LogBuffer.Stream.STDERR);
        assertThat(err.missed()).as("line 6, stderr's 2nd, was dropped; 9, its 3rd, is held").isEqualTo(1);
        assertThat(err.entries()).extracting(entry -> entry.line().text()).containsExactly("line 9");
        assertThat(buffer.after(3, 10, LogBuffer.Stream.STDERR).missed()).as("of both streams: 4 to 6").isEqualTo(3);
        LogBuffer.Page out = buffer.afterInStream(2, 2, LogBuffer.Stream.STDOUT);
        assertThat(out.missed()).as("stdout's 3rd and 4th (lines 4, 5)").isEqualTo(2);
        assertThat(out.entries()).extracting(LogBuffer.Entry::streamSeq).containsExactly(5L, 6L);
        assertThat(buffer.afterInStream(7, 10, LogBuffer.Stream.STDOUT)).isEqualTo(new LogBuffer.Page(0, List.of()));
        assertThatThrownBy(() -> buffer.afterInStream(4, 10, LogBuffer.Stream.STDERR))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void afterInStreamOfAStreamWithNoLineHeldCountsAllItsLinesMissed() {
        LogBuffer buffer = new LogBuffer(2, 1 << 20);
        buffer.add(new LogBuffer.Line(1, T0, "err", LogBuffer.Stream.STDERR));
        buffer.add(new LogBuffer.Line(1, T0, "err", LogBuffer.Stream.STDERR));
        buffer.add(new LogBuffer.Line(1, T0, "out", LogBuffer.Stream.STDOUT));
        buffer.add(new LogBuffer.Line(1, T0, "out", LogBuffer.Stream.STDOUT));

        assertThat(buffer.afterInStream(0, 10, LogBuffer.Stream.STDERR)).isEqualTo(new LogBuffer.Page(2, List.of()));
        assertThat(buffer.afterInStream(2, 10, LogBuffer.Stream.STDERR)).isEqualTo(new LogBuffer.Page(0, List.of()));
    }

    private static LogBuffer.Line line(long pid, int n) {
        return new LogBuffer.Line(pid, T0.plusSeconds(n), "line " + n);
    }

    private static List<String> texts(List<LogBuffer.Line> lines) {
        return lines.stream().map(LogBuffer.Line::text).toList();
    }
}
