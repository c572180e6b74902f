package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BackoffTests {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final Duration QUICK = Duration.ofMillis(50);

    private static FleetProperties.Restart restart(Duration max, int crashLoopRestarts, Duration window) {
        return new FleetProperties.Restart(RestartPolicy.ALWAYS, Duration.ofMillis(100), 2.0, max,
                Duration.ofSeconds(10), crashLoopRestarts, window);
    }

    @Test
    void firstDelayIsTheInitialBackoff() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 20, Duration.ofSeconds(60)));

        assertThat(backoff.next(QUICK, T0)).isEqualTo(new Backoff.Decision(Duration.ofMillis(100), false));
    }

    @Test
    void delayDoublesWithEachQuickCrashInARow() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 20, Duration.ofSeconds(60)));

        assertThat(delays(backoff, 5, QUICK, Duration.ofSeconds(1))).containsExactly(Duration.ofMillis(100),
                Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofMillis(800), Duration.ofMillis(1600));
    }

    @Test
    void delayIsCappedAtTheMaximum() {
        Backoff backoff = new Backoff(restart(Duration.ofMillis(1000), 20, Duration.ofSeconds(60)));

        assertThat(delays(backoff, 7, QUICK, Duration.ofSeconds(1))).containsExactly(Duration.ofMillis(100),
                Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofMillis(800), Duration.ofMillis(1000),
                Duration.ofMillis(1000), Duration.ofMillis(1000));
    }

    @Test
    void delayStaysAtTheMaximumAfterVeryManyQuickCrashes() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 1_000, Duration.ofMillis(1)));

        List<Duration> delays = delays(backoff, 200, QUICK, Duration.ofSeconds(1));

        assertThat(delays).allSatisfy(delay -> assertThat(delay).isBetween(Duration.ofMillis(100), Duration.ofSeconds(30)));
        assertThat(delays.get(199)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void crashAfterAnUptimeOfResetAfterCountsAsTheFirstAgain() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 20, Duration.ofSeconds(60)));
        delays(backoff, 3, QUICK, Duration.ofSeconds(1));

        Backoff.Decision decision = backoff.next(Duration.ofSeconds(10), T0.plusSeconds(30));

        assertThat(decision).isEqualTo(new Backoff.Decision(Duration.ofMillis(100), false));
        assertThat(backoff.next(QUICK, T0.plusSeconds(31)).delay()).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void crashJustBeforeResetAfterStillCountsAsQuick() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 20, Duration.ofSeconds(60)));
        delays(backoff, 3, QUICK, Duration.ofSeconds(1));

        Backoff.Decision decision = backoff.next(Duration.ofSeconds(10).minusMillis(1), T0.plusSeconds(30));

        assertThat(decision.delay()).isEqualTo(Duration.ofMillis(800));
    }

    @Test
    void moreRestartsInTheWindowThanCrashLoopRestartsIsACrashLoopAtTheMaximumDelay() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 3, Duration.ofSeconds(60)));

        assertThat(backoff.next(QUICK, T0).crashLoop()).isFalse();
        assertThat(backoff.next(QUICK, T0.plusSeconds(1)).crashLoop()).isFalse();
        assertThat(backoff.next(QUICK, T0.plusSeconds(2)).crashLoop()).isFalse();
        Backoff.Decision fourth = backoff.next(QUICK, T0.plusSeconds(3));

        assertThat(fourth).isEqualTo(new Backoff.Decision(Duration.ofSeconds(30), true));
    }

    @Test
    void crashLoopIsCountedByRestartsNotByUptime() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 3, Duration.ofSeconds(60)));
        Duration longUptime = Duration.ofSeconds(15);

        backoff.next(longUptime, T0);
        backoff.next(longUptime, T0.plusSeconds(15));
        backoff.next(longUptime, T0.plusSeconds(30));
        Backoff.Decision fourth = backoff.next(longUptime, T0.plusSeconds(45));

        assertThat(fourth).isEqualTo(new Backoff.Decision(Duration.ofSeconds(30), true));
    }

    @Test
    void restartsOlderThanTheWindowFallOutOfIt() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 3, Duration.ofSeconds(60)));
        backoff.next(QUICK, T0);
        backoff.next(QUICK, T0.plusSeconds(10));
        backoff.next(QUICK, T0.plusSeconds(20));

        // T0 is now more than a window ago: three restarts remain in it, not four.
        Backoff.Decision decision = backoff.next(QUICK, T0.plusSeconds(61));

        assertThat(decision.crashLoop()).isFalse();
        assertThat(decision.delay()).isEqualTo(Duration.ofMillis(800));
    }

    @Test
    void crashLoopEndsOnceTheWindowHasSlidPastTheBurst() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 3, Duration.ofSeconds(60)));
        for (int i = 0; i < 5; i++) {
            backoff.next(QUICK, T0.plusSeconds(i));
        }
        assertThat(backoff.next(QUICK, T0.plusSeconds(5)).crashLoop()).isTrue();

        Backoff.Decision later = backoff.next(Duration.ofSeconds(120), T0.plusSeconds(200));

        assertThat(later).isEqualTo(new Backoff.Decision(Duration.ofMillis(100), false));
    }

    @Test
    void multiplierOfOneKeepsTheDelayConstant() {
        Backoff backoff = new Backoff(new FleetProperties.Restart(RestartPolicy.ALWAYS, Duration.ofMillis(250), 1.0,
                Duration.ofSeconds(30), Duration.ofSeconds(10), 20, Duration.ofSeconds(60)));

        assertThat(delays(backoff, 4, QUICK, Duration.ofSeconds(1))).containsOnly(Duration.ofMillis(250));
    }

    /** Quick crashes {@code every} apart from T0 on. */
    private static List<Duration> delays(Backoff backoff, int crashes, Duration uptime, Duration every) {
        List<Duration> delays = new ArrayList<>();
        for (int i = 0; i < crashes; i++) {
            delays.add(backoff.next(uptime, T0.plus(every.multipliedBy(i))).delay());
        }
        return delays;
    }
}
