package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ResponseDeadlinesTests {

    /** The deadlines the list asked its sweeper to come by. */
    private final List<Long> sweepBy = new ArrayList<>();
    private final ResponseDeadlines deadlines = new ResponseDeadlines(sweepBy::add);
    private final List<String> timedOut = new ArrayList<>();

    @Test
    void sweepTimesOutOnlyTheEntriesPastTheirDeadlineInDeadlineOrder() {
        deadlines.add(entry("a"), 10);
        deadlines.add(entry("b"), 20);
        deadlines.add(entry("c"), 30);

        deadlines.sweep(20);

        assertThat(timedOut).containsExactly("a", "b");
    }

    @Test
    void addingAnEntryAgainMovesItsDeadline() {
        ResponseDeadlines.Entry touched = entry("a");
        deadlines.add(touched, 10);
        deadlines.add(entry("b"), 20);
        deadlines.add(touched, 30);

        deadlines.sweep(25);

        assertThat(timedOut).containsExactly("b");
        assertThat(touched.armed()).isTrue();
    }

    @Test
    void removedEntryNeverTimesOut() {
        ResponseDeadlines.Entry removed = entry("a");
        deadlines.add(removed, 10);
        deadlines.remove(removed);
        deadlines.remove(removed);

        deadlines.sweep(100);

        assertThat(timedOut).isEmpty();
        assertThat(removed.armed()).isFalse();
    }

    @Test
    void timeoutThatThrowsDoesNotStopTheOthersNorLaterSweeps() {
        deadlines.add(new ResponseDeadlines.Entry(() -> {
            throw new IllegalStateException("broken timeout");
        }), 10);
        deadlines.add(entry("b"), 10);
        deadlines.add(entry("c"), 50);

        deadlines.sweep(10);
        deadlines.sweep(50);

        assertThat(timedOut).containsExactly("b", "c");
    }

    @Test
    void sweeperIsToldEveryDeadlineAddedAndAfterASweepTheEarliestLeft() {
        ResponseDeadlines.Entry a = entry("a");
        deadlines.add(a, 10);
        deadlines.add(entry("b"), 20);
        deadlines.add(a, 30);
        assertThat(sweepBy).containsExactly(10L, 20L, 30L);

        sweepBy.clear();
        deadlines.sweep(25);
        assertThat(timedOut).containsExactly("b");
        assertThat(sweepBy).as("a, moved to 30, is left").containsExactly(30L);

        sweepBy.clear();
        deadlines.sweep(30);
        assertThat(sweepBy).as("nothing left: no sweep needed").isEmpty();
    }

    @Test
    void timeoutThatAddsADeadlineWhileSweptIsSweptInTurn() {
        ResponseDeadlines.Entry retried = entry("retried");
        deadlines.add(new ResponseDeadlines.Entry(() -> deadlines.add(retried, 40)), 10);

        deadlines.sweep(10);

        assertThat(sweepBy).containsExactly(10L, 40L, 40L);
        deadlines.sweep(40);
        assertThat(timedOut).containsExactly("retried");
    }

    private ResponseDeadlines.Entry entry(String name) {
        return new ResponseDeadlines.Entry(() -> timedOut.add(name));
    }
}
