package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LogBufferTests {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    @Test
    void keepsOnlyTheNewestLinesUpToItsCapacity() {
        LogBuffer buffer = new LogBuffer(3);
        for (int i = 1; i <= 5; i++) {
            buffer.add(line(1, i));
        }
        assertThat(texts(buffer.tail(100))).containsExactly("line 3", "line 4", "line 5");
    }

    @Test
    void tailGivesTheNewestLinesOldestFirst() {
        LogBuffer buffer = new LogBuffer(10);
        for (int i = 1; i <= 5; i++) {
            buffer.add(line(1, i));
        }
        assertThat(texts(buffer.tail(2))).containsExactly("line 4", "line 5");
    }

    @Test
    void tailOfAnEmptyBufferIsEmpty() {
        assertThat(new LogBuffer(10).tail(5)).isEmpty();
        assertThat(new LogBuffer(10).tailOf(1, 5)).isEmpty();
    }

    @Test
    void tailOfReturnsOnlyTheLinesOfThatProcess() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(line(100, 1));
        buffer.add(line(200, 2));
        buffer.add(line(100, 3));
        buffer.add(line(200, 4));
        buffer.add(line(100, 5));

        assertThat(buffer.tailOf(100, 10)).containsExactly("line 1", "line 3", "line 5");
        assertThat(buffer.tailOf(100, 2)).containsExactly("line 3", "line 5");
        assertThat(buffer.tailOf(200, 10)).containsExactly("line 2", "line 4");
        assertThat(buffer.tailOf(300, 10)).isEmpty();
    }

    @Test
    void linesOfAnEarlierProcessSurviveItsReplacementUntilPushedOut() {
        LogBuffer buffer = new LogBuffer(3);
        buffer.add(line(100, 1));
        buffer.add(line(100, 2));
        buffer.add(line(200, 3));
        assertThat(buffer.tailOf(100, 10)).containsExactly("line 1", "line 2");

        buffer.add(line(200, 4));
        assertThat(buffer.tailOf(100, 10)).containsExactly("line 2");
    }

    @Test
    void tailKeepsThePidAndTimeOfEachLine() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(new LogBuffer.Line(77, T0, "hello"));
        assertThat(buffer.tail(1)).containsExactly(new LogBuffer.Line(77, T0, "hello"));
    }

    @Test
    void tailIsACopyThatLaterLinesDoNotChange() {
        LogBuffer buffer = new LogBuffer(10);
        buffer.add(line(1, 1));
        List<LogBuffer.Line> tail = buffer.tail(10);
        buffer.add(line(1, 2));
        assertThat(texts(tail)).containsExactly("line 1");
    }

    private static LogBuffer.Line line(long pid, int n) {
        return new LogBuffer.Line(pid, T0.plusSeconds(n), "line " + n);
    }

    private static List<String> texts(List<LogBuffer.Line> lines) {
        return lines.stream().map(LogBuffer.Line::text).toList();
    }
}
