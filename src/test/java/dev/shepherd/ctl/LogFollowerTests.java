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
        return "{\"seq\": " + seq + ", \"pid\": 7, \"at\": \"2025-01-01T00:00:00Z\", \"line\": \"line " + seq + "\"}";
    }

    @Test
    void eachAskIsForTheLinesAfterTheLastOneGot() {
        Master master = new Master().answer("[" + line(41) + ", " + line(42) + "]").answer("[" + line(43) + "]")
                .answer("[]").answer("[" + line(44) + "]");
        LogFollower follower = new LogFollower(3, 100);

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
        LogFollower follower = new LogFollower(3, 100);

        follower.start(master, 20);
        follower.next(master);

        assertThat(master.asked).endsWith("/fleet/workers/3/logs?lines=100&after=0");
    }

    @Test
    void theMarkerOfMissedLinesIsPassedOnAndTheFollowGoesOnAfterIt() {
        Master master = new Master().answer("[" + line(1) + "]").answer("[{\"seq\": 9, \"missed\": 8}]")
                .answer("[" + line(10) + "]");
        LogFollower follower = new LogFollower(3, 100);
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
        LogFollower follower = new LogFollower(3, 2);
        follower.start(master, 20);

        follower.next(master);
        assertThat(follower.full()).isTrue();
        follower.next(master);
        assertThat(follower.full()).isFalse();
    }

    /** An older master ignores after= and gives its tail again: it would be printed again and again. */
    @Test
    void aMasterThatDoesNotNumberItsLinesIsAnErrorThatSaysSo() {
        Master master = new Master().answer("[{\"pid\": 7, \"at\": \"2025-01-01T00:00:00Z\", \"line\": \"x\"}]");

        assertThatThrownBy(() -> new LogFollower(3, 100).start(master, 20)).isInstanceOf(CtlException.class)
                .hasMessageContaining("does not number worker 3's lines (seq)");
    }

    @Test
    void anAnswerThatGoesBackIsAnErrorNotALoop() {
        Master master = new Master().answer("[" + line(5) + "]").answer("[" + line(2) + "]");
        LogFollower follower = new LogFollower(3, 100);
        follower.start(master, 20);

        assertThatThrownBy(() -> follower.next(master)).isInstanceOf(CtlException.class);
    }
}
