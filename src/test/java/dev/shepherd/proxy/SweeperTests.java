package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** When the sweeper sets its loop's timer, with a scheduler and a clock the test drives. */
class SweeperTests {

    private static final long SLACK = Sweeper.SLACK_NANOS;
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    /** A timer the fake scheduler holds: when it is due, and whether it is still to fire (neither fired nor cancelled). */
    private record Timer(long dueAt, Runnable task, CompletableFuture<Void> future) {
        boolean live() {
            return !future.isDone();
        }
    }

    private final AtomicLong now = new AtomicLong(1_000 * SECOND);
    private final List<Timer> timers = new ArrayList<>();
    private final ResponseDeadlines deadlines;
    /** Another kind of deadline of the same loop (the body idle timeout beside the response timeout). */
    private final ResponseDeadlines other;
    private final List<String> timedOut = new ArrayList<>();
    private final Sweeper sweeper;
    private int sweeps;

    SweeperTests() {
        Sweeper[] self = new Sweeper[1];
        deadlines = new ResponseDeadlines(deadline -> self[0].ensureBy(deadline));
        other = new ResponseDeadlines(deadline -> self[0].ensureBy(deadline));
        sweeper = new Sweeper(() -> {
            sweeps++;
            deadlines.sweep(now.get());
            other.sweep(now.get());
        }, now::get);
        self[0] = sweeper;
        sweeper.bind(this::schedule);
    }

    private Future<?> schedule(Runnable task, long delayNanos) {
        Timer timer = new Timer(now.get() + delayNanos, task, new CompletableFuture<>());
        timers.add(timer);
        return timer.future();
    }

    private List<Timer> live() {
        return timers.stream().filter(Timer::live).toList();
    }

    /** Moves the clock and fires the live timers due by then, in order, as the loop would. */
    private void advanceTo(long nanos) {
        now.set(nanos);
        Timer due;
        while ((due = live().stream().filter(timer -> nanos - timer.dueAt() >= 0)
                .min((a, b) -> Long.signum(a.dueAt() - b.dueAt())).orElse(null)) != null) {
            due.future().complete(null);
            due.task().run();
        }
    }

    @Test
    void firstDeadlineSetsOneTimerForItPlusTheSlackAndLaterOnesKeepIt() {
        long start = now.get();
        deadlines.add(entry("a"), start + 60 * SECOND);
        deadlines.add(entry("b"), start + 61 * SECOND);
        deadlines.add(entry("c"), start + 90 * SECOND);

        assertThat(live()).hasSize(1);
        assertThat(live().get(0).dueAt()).isEqualTo(start + 60 * SECOND + SLACK);
    }

    @Test
    void aDeadlineTheTimerWouldServeLateByMoreThanTheSlackMovesIt() {
        long start = now.get();
        deadlines.add(entry("long"), start + 60 * SECOND);
        other.add(entry("same"), start + 60 * SECOND);
        assertThat(timers).as("the timer serves it").hasSize(1);

        other.add(entry("just earlier"), start + 60 * SECOND - SLACK / 2);
        assertThat(live()).singleElement().extracting(Timer::dueAt).isEqualTo(start + 60 * SECOND + SLACK / 2);

        other.add(entry("short"), start + 4 * SECOND);
        assertThat(timers).hasSize(3);
        assertThat(live()).singleElement().extracting(Timer::dueAt).isEqualTo(start + 4 * SECOND + SLACK);
    }

    @Test
    void sweepActsOnWhatIsDueAndSetsTheTimerForTheNextDeadline() {
        long start = now.get();
        deadlines.add(entry("a"), start + SECOND);
        deadlines.add(entry("b"), start + 2 * SECOND);

        advanceTo(start + SECOND + SLACK);
        assertThat(timedOut).containsExactly("a");
        assertThat(live()).singleElement().extracting(Timer::dueAt).isEqualTo(start + 2 * SECOND + SLACK);

        advanceTo(start + 2 * SECOND + SLACK);
        assertThat(timedOut).containsExactly("a", "b");
        assertThat(sweeper.scheduled()).as("nothing left to watch: the loop sleeps").isFalse();
        assertThat(sweeps).isEqualTo(2);
    }

    @Test
    void deadlinesWithinTheSlackShareOneWakeUp() {
        long start = now.get();
        for (int i = 0; i < 10; i++) {
            deadlines.add(entry("e" + i), start + SECOND + i * SLACK / 10);
        }

        advanceTo(start + SECOND + SLACK);

        assertThat(timedOut).hasSize(10);
        assertThat(sweeps).isEqualTo(1);
    }

    @Test
    void deadlineRemovedBeforeItsTimeLeavesAWakeUpThatFindsNothingAndSetsNoNewTimer() {
        long start = now.get();
        ResponseDeadlines.Entry answered = entry("answered");
        deadlines.add(answered, start + SECOND);
        deadlines.remove(answered);

        advanceTo(start + 2 * SECOND);

        assertThat(timedOut).isEmpty();
        assertThat(sweeps).isEqualTo(1);
        assertThat(sweeper.scheduled()).isFalse();
    }

    @Test
    void aSweepThatFailsLooksAgainAfterTheSlack() {
        long start = now.get();
        boolean[] failOnce = {true};
        Sweeper failing = new Sweeper(() -> {
            if (failOnce[0]) {
                failOnce[0] = false;
                throw new IllegalStateException("broken sweep");
            }
            sweeps++;
        }, now::get);
        failing.bind(this::schedule);
        failing.ensureBy(start);

        advanceTo(start + SLACK);
        assertThat(failing.scheduled()).as("retried, not forgotten").isTrue();
        advanceTo(start + 2 * SLACK);
        assertThat(sweeps).isEqualTo(1);
        assertThat(failing.scheduled()).isFalse();
    }

    @Test
    void timeoutThatAddsAnEarlierDeadlineWhileSweptGetsItsOwnWakeUp() {
        long start = now.get();
        deadlines.add(new ResponseDeadlines.Entry(() -> other.add(entry("retry"), now.get() + SECOND)), start + SECOND);
        deadlines.add(entry("later"), start + 60 * SECOND);

        advanceTo(start + SECOND + SLACK);
        assertThat(live()).singleElement().extracting(Timer::dueAt).isEqualTo(start + 2 * SECOND + 2 * SLACK);

        advanceTo(start + 2 * SECOND + 2 * SLACK);
        assertThat(timedOut).containsExactly("retry");
        assertThat(live()).singleElement().extracting(Timer::dueAt).isEqualTo(start + 60 * SECOND + SLACK);
    }

    @Test
    void deadlinesPastTheClocksWrapFireInTime() {
        now.set(Long.MAX_VALUE - SECOND / 2);
        long start = now.get();
        deadlines.add(entry("wrapped"), start + SECOND);

        advanceTo(start + SECOND);
        assertThat(timedOut).as("not yet: the slack").isEmpty();
        advanceTo(start + SECOND + SLACK);
        assertThat(timedOut).containsExactly("wrapped");
        assertThat(sweeper.scheduled()).isFalse();
    }

    @Test
    void aTimeoutOfCenturiesSetsAFarTimerNotOneThatFiresAtOnce() {
        sweeper.ensureBy(now.get() + Long.MAX_VALUE - 1);

        assertThat(live()).singleElement().extracting(Timer::dueAt).isEqualTo(now.get() + Long.MAX_VALUE);
        advanceTo(now.get() + SECOND);
        assertThat(sweeps).isZero();
    }

    @Test
    void unboundSweeperNeverSchedules() {
        Sweeper unbound = new Sweeper(() -> sweeps++, now::get);
        unbound.ensureBy(now.get());
        assertThat(unbound.scheduled()).isFalse();
        assertThat(timers).isEmpty();
    }

    private ResponseDeadlines.Entry entry(String name) {
        return new ResponseDeadlines.Entry(() -> timedOut.add(name));
    }
}
