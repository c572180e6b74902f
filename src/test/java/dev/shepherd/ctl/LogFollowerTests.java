package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LogFollowerTests {

    /** Answers each ask with the next of its answers, and keeps what was asked. */
    private static final class Master implements Function<String, JsonNode> {

        final List<String> asked = new ArrayList<>();
        final Queue<String> answers = new ArrayDeque<>();

        Master answer(String json) {
            answers.add(json);
            return this;
        }

        @Override
        public JsonNode apply(String path) {
            asked.add(path);
            return Json.MAPPER.readTree(answers.remove());
        }
    }

    private static String line(long seq) {
        return line(seq, "stdout");
    }

    private static String line(long seq, String stream) {
        return "{\"seq\": " + seq + ", \"pid\": 7, \"at\": \"2025-01-01T00:00:00Z\", \"line\": \"line " + seq
                + "\", \"stream\": \"" + stream + "\"}";
    }

    /** A line as a master that numbers each stream's lines gives it. */
    private static String line(long seq, String stream, long streamSeq) {
        return line(seq, stream).replace("}", ", \"streamSeq\": " + streamSeq + "}");
    }

    /**
     * Of one stream, by that stream's numbers: only its lines come, and the marker counts its lines missed. Followed
     * through both streams, logs -f --err said "-- 6 lines of stdout and stderr missed --" of 2 stderr lines.
     */
    @Test
    void oneStreamIsFollowedByItsOwnNumbers() {
        Master master = new Master().answer("[" + line(12, "stdout", 8) + "]")
                .answer("[" + line(9, "stderr", 3) + ", " + line(11, "stderr", 4) + "]")
                .answer("[" + line(14, "stderr", 5) + "]")
                .answer("[{\"stream\": \"stderr\", \"streamSeq\": 7, \"missed\": 2}, " + line(21, "stderr", 8) + "]")
                .answer("[]");
        LogFollower follower = new LogFollower(3, 100, "stderr");

        List<JsonNode> tail = follower.start(master, 2);
        List<JsonNode> next = follower.next(master);
        List<JsonNode> after = follower.next(master);
        follower.next(master);

        assertThat(tail).extracting(element -> element.path("seq").asLong()).containsExactly(9L, 11L);
        assertThat(next).extracting(element -> element.path("seq").asLong()).containsExactly(14L);
        assertThat(after).first().satisfies(marker -> assertThat(marker.path("missed").asLong()).isEqualTo(2));
        assertThat(master.asked).containsExactly("/fleet/workers/3/logs?lines=1",
                "/fleet/workers/3/logs?lines=2&stream=stderr", "/fleet/workers/3/logs?lines=100&stream=stderr&streamAfter=4",
                "/fleet/workers/3/logs?lines=100&stream=stderr&streamAfter=5",
                "/fleet/workers/3/logs?lines=100&stream=stderr&streamAfter=8");
    }

    /**
     * The newest line of the other stream says how many of this one's came before it (seq 12 is the 8th stdout line,
     * so 4 stderr lines came up to it): with no line of the stream in the tail, the follow goes on after those.
     */
    @Test
    void aStreamWithNoLineHeldIsFollowedFromWhereTheNewestLineOfTheOtherLeavesIt() {
        Master master = new Master().answer("[" + line(12, "stdout", 8) + "]").answer("[]").answer("[]");
        LogFollower follower = new LogFollower(3, 100, "stderr");

        follower.start(master, 2);
        follower.next(master);

        assertThat(master.asked).endsWith("/fleet/workers/3/logs?lines=100&stream=stderr&streamAfter=4");
    }

    /** A master older than streamSeq, with no line when the follow began, is followed by seq from its first line. */
    @Test
    void aMasterWithoutStreamNumbersAndNoLineYetIsFollowedThroughBothStreams() {
        Master master = new Master().answer("[]").answer("[]").answer("[" + line(2, "stderr") + "]")
                .answer("[" + line(1, "stdout") + ", " + line(2, "stderr") + "]");
        LogFollower follower = new LogFollower(3, 100, "stderr");

        follower.start(master, 2);
        List<JsonNode> next = follower.next(master);

        assertThat(next).extracting(element -> element.path("seq").asLong()).containsExactly(2L);
        assertThat(master.asked).endsWith("/fleet/workers/3/logs?lines=100&stream=stderr&streamAfter=0",
                "/fleet/workers/3/logs?lines=100&after=0");
    }

    /**
     * Of one stream, of a master older than streamSeq: the tail of that stream, then both streams after the newest
     * line of either, that stream's lines kept. Asked for that stream alone, such a master could not say how far it
     * looked: the other stream's lines after the last one shown would have come back as missed once dropped.
     */
    @Test
    void oneStreamOfAMasterWithoutStreamNumbersIsFollowedThroughBoth() {
        Master master = new Master().answer("[" + line(12, "stdout") + "]")
                .answer("[" + line(9, "stderr") + ", " + line(11, "stderr") + "]")
                .answer("[" + line(13, "stdout") + ", " + line(14, "stderr") + "]")
                .answer("[{\"seq\": 20, \"missed\": 6}, " + line(21, "stdout") + "]");
        LogFollower follower = new LogFollower(3, 100, "stderr");

        List<JsonNode> tail = follower.start(master, 2);
        List<JsonNode> next = follower.next(master);
        List<JsonNode> after = follower.next(master);

        assertThat(tail).extracting(element -> element.path("seq").asLong()).containsExactly(9L, 11L);
        assertThat(next).extracting(element -> element.path("seq").asLong()).containsExactly(14L);
        assertThat(after).extracting(element -> element.path("seq").asLong()).as("the marker, of both streams")
                .containsExactly(20L);
        assertThat(master.asked).containsExactly("/fleet/workers/3/logs?lines=1",
                "/fleet/workers/3/logs?lines=2&stream=stderr", "/fleet/workers/3/logs?lines=100&after=12",
                "/fleet/workers/3/logs?lines=100&after=14");
    }

    /** A line of the stream written between the two first asks is in the tail: the follow goes on after it. */
    @Test
    void aLineOfTheStreamWrittenBetweenTheFirstAsksIsShownOnce() {
        Master master = new Master().answer("[" + line(10, "stdout") + "]")
                .answer("[" + line(9, "stderr") + ", " + line(11, "stderr") + "]").answer("[]");
        LogFollower follower = new LogFollower(3, 100, "stderr");

        follower.start(master, 2);
        follower.next(master);

        assertThat(master.asked).endsWith("/fleet/workers/3/logs?lines=100&after=11");
    }

    @Test
    void eachAskIsForTheLinesAfterTheLastOneGot() {
        Master master = new Master().answer("[" + line(41) + ", " + line(42) + "]").answer("[" + line(43) + "]")
                .answer("[]").answer("[" + line(44) + "]");
        LogFollower follower = new LogFollower(3, 100, null);

        assertThat(follower.start(master, 2)).hasSize(2);
        assertThat(follower.next(master)).hasSize(1);
        assertThat(follower.next(master)).isEmpty();
        follower.next(master);

        assertThat(master.asked).containsExactly("/fleet/workers/3/logs?lines=2", "/fleet/workers/3/logs?lines=100&after=42",
                "/fleet/workers/3/logs?lines=100&after=43", "/fleet/workers/3/logs?lines=100&after=43");
    }

    @Test
    void aWorkerWithoutLinesIsFollowedFromItsFirst() {
        Master master = new Master().answer("[]").answer("[" + line(1) + "]");
        LogFollower follower = new LogFollower(3, 100, null);

        follower.start(master, 20);
        follower.next(master);

        assertThat(master.asked).endsWith("/fleet/workers/3/logs?lines=100&after=0");
    }

    @Test
    void theMarkerOfMissedLinesIsPassedOnAndTheFollowGoesOnAfterIt() {
        Master master = new Master().answer("[" + line(1) + "]").answer("[{\"seq\": 9, \"missed\": 8}]")
                .answer("[" + line(10) + "]");
        LogFollower follower = new LogFollower(3, 100, null);
        follower.start(master, 20);

        List<JsonNode> next = follower.next(master);
        follower.next(master);

        assertThat(next).singleElement().satisfies(marker -> assertThat(LogFollower.isMarker(marker)).isTrue());
        assertThat(master.asked).endsWith("/fleet/workers/3/logs?lines=100&after=9");
    }

    @Test
    void aFullPageSaysMoreMayWaitAndTheMarkerIsNoLineOfIt() {
        Master master = new Master().answer("[]").answer("[{\"seq\": 4, \"missed\": 4}, " + line(5) + ", " + line(6) + "]")
                .answer("[{\"seq\": 8, \"missed\": 2}, " + line(9) + "]");
        LogFollower follower = new LogFollower(3, 2, null);
        follower.start(master, 20);

        follower.next(master);
        assertThat(follower.full()).isTrue();
        follower.next(master);
        assertThat(follower.full()).isFalse();
    }

    /**
     * An older master ignores after= and gives its tail again: it would be printed again and again. Its tail is
     * shown; following it is an error that says why.
     */
    @Test
    void aMasterThatDoesNotNumberItsLinesIsAnErrorThatSaysSoOnceFollowed() {
        String unnumbered = "[{\"pid\": 7, \"at\": \"2025-01-01T00:00:00Z\", \"line\": \"x\"}]";
        Master master = new Master().answer(unnumbered).answer(unnumbered);
        LogFollower follower = new LogFollower(3, 100, null);

        assertThat(follower.start(master, 20)).hasSize(1);
        assertThatThrownBy(() -> follower.next(master)).isInstanceOf(CtlException.class)
                .hasMessageContaining("does not number worker 3's lines (seq)");
    }

    @Test
    void anAnswerThatGoesBackIsAnErrorNotALoop() {
        Master master = new Master().answer("[" + line(5) + "]").answer("[" + line(2) + "]");
        LogFollower follower = new LogFollower(3, 100, null);
        follower.start(master, 20);

        assertThatThrownBy(() -> follower.next(master)).isInstanceOf(CtlException.class);
    }
}
