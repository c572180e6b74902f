package dev.shepherd.fleet;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The supervisor's queue and clock for unit tests: events wait until {@link #drain()} hands them to the supervisor
 * (each followed by the reconcile, as {@link SupervisorLoop} does), and timers fire only when {@link #advance} moves
 * the clock past them. Single-threaded: the fakes complete everything on the test's thread.
 */
final class ManualQueue implements SupervisorQueue {

    /** A clock that moves only when told. */
    static final class TestClock extends Clock {

        private Instant now;

        TestClock(Instant start) {
            this.now = start;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }

        void set(Instant next) {
            now = next;
        }
    }

    private record Timer(Instant due, long order, SupervisorEvent event) {
    }

    final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final ArrayDeque<SupervisorEvent> queue = new ArrayDeque<>();
    private final List<Timer> timers = new ArrayList<>();
    private final List<SupervisorEvent> handled = new ArrayList<>();
    /** The snapshot after each handled event (and its reconcile): what the loop would publish then. */
    private final List<FleetSnapshot> published = new ArrayList<>();
    private Supervisor supervisor;
    private long order;
    private Predicate<SupervisorEvent> holdAt = event -> false;

    void attach(Supervisor supervisor) {
        this.supervisor = supervisor;
    }

    @Override
    public void post(SupervisorEvent event) {
        queue.add(event);
    }

    @Override
    public Scheduled schedule(SupervisorEvent event, Duration delay) {
        Timer timer = new Timer(clock.instant().plus(delay), order++, event);
        timers.add(timer);
        return () -> timers.remove(timer);
    }

    /**
     * Until {@link #releaseHeldLast()}, every drain (and so every advance) stops before the first queued event that
     * {@code which} matches, so that a test can post another event that the real loop may receive first.
     */
    void holdAt(Predicate<SupervisorEvent> which) {
        holdAt = which;
    }

    /** Ends {@link #holdAt}: the held events go behind those posted since, as if these had been posted first. */
    void releaseHeldLast() {
        List<SupervisorEvent> held = queue.stream().filter(holdAt).toList();
        queue.removeAll(held);
        queue.addAll(held);
        holdAt = event -> false;
    }

    /** Handles every queued event, and those they post, each followed by the reconcile. */
    void drain() {
        SupervisorEvent event;
        while ((event = queue.peek()) != null && !holdAt.test(event)) {
            queue.poll();
            handled.add(event);
            supervisor.handle(event);
            supervisor.reconcile();
            published.add(supervisor.snapshot(published.size()));
            supervisor.published();
        }
    }

    /** Moves the clock by {@code duration}, firing the timers that come due on the way, in order. */
    void advance(Duration duration) {
        Instant end = clock.instant().plus(duration);
        drain();
        while (true) {
            Optional<Timer> next = timers.stream().filter(timer -> !timer.due().isAfter(end))
                    .min(Comparator.comparing(Timer::due).thenComparingLong(Timer::order));
            if (next.isEmpty()) {
                break;
            }
            timers.remove(next.get());
            clock.set(next.get().due());
            post(next.get().event());
            drain();
        }
        clock.set(end);
        drain();
    }

    /** The events handled so far, oldest first. */
    List<SupervisorEvent> handled() {
        return handled;
    }

    /** The snapshot after each handled event, oldest first. */
    List<FleetSnapshot> published() {
        return published;
    }

    /** Timers pending now. */
    int pendingTimers() {
        return timers.size();
    }
}
