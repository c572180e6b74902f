package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BackoffTests {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");
    private static final Duration QUICK = Duration.ofMillis(50);

    private static FleetProperties.Restart restart(Duration max, int crashLoopRestarts, Duration window) {
        return new FleetProperties.Restart(RestartPolicy.ALWAYS, Duration.ofMillis(100), 2.0, max,
                Duration.ofSeconds(10), crashLoopRestarts, window, Duration.ofSeconds(1));
    }

    @Test
    void firstDelayIsTheInitialBackoff() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 20, Duration.ofSeconds(60)));

        assertThat(backoff.next(QUICK, T0)).isEqualTo(new Backoff.Decision(Duration.ofMillis(100), false));
    }

    /**
     * With the default settings (100 ms doubling to 30 s, 20 quick crashes in 10 minutes), a worker that dies at once
     * every time is found crash-looping: with the old 60-s window at most about 10 quick crashes fitted in it.
     */
    @Test
    void aWorkerThatAlwaysDiesAtOnceIsACrashLoopWithTheDefaults() {
        Backoff backoff = new Backoff(restart(Duration.ofSeconds(30), 20, Duration.ofMinutes(10)));
        Instant now = T0;
        int crashes = 0;
        boolean crashLoop = false;
        while (!crashLoop && crashes < 100) {
            Backoff.Decision decision = backoff.next(QUICK, now);
            crashes++;
            crashLoop = decision.crashLoop();
            now = now.plus(decision.delay()).plusMillis(500); // the delay, then half a second to start and die
        }

        assertThat(crashLoop).isTrue();
        assertThat(crashes).isEqualTo(21);
        assertThat(Duration.between(T0, now)).isLessThan(Duration.ofMinutes(10));
        Backoff oldWindow = new Backoff(restart(Duration.ofSeconds(30), 20, Duration.ofSeconds(60)));
        Instant then = T0;
        for (int i = 0; i < 100; i++) {
            Backoff.Decision decision = oldWindow.next(QUICK, then);
            assertThat(decision.crashLoop()).as("crash %d with a 60-s window", i + 1).isFalse();
            then = then.plus(decision.delay()).plusMillis(500);
        }
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
                Duration.ofSeconds(30), Duration.ofSeconds(10), 20, Duration.ofSeconds(60), Duration.ofSeconds(1)));

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

    /**
     * One worker's exits, one second apart on a test clock, each written as how long its process was READY
     * ({@code -}: never READY), against the delays and the crash-loop flag the policy answers; min-uptime 1 s,
     * crash loop after 3 quick restarts in 60 s, initial delay 100 ms doubling up to 30 s.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            quick crashes double                          | - - -                           | 100 200 400                                       | - - -
            READY for min-uptime restarts at the initial  | 1000 1000 1000 1000             | 100 100 100 100                                   | - - - -
            seed pattern: served, then crashed, forever   | 3000 800 5000 2500 9000 1200 4000 7000 1500 2000 | 100 100 100 100 100 100 100 100 100 100 | - - - - - - - - - -
            READY for less than min-uptime is quick       | 999 999 999                     | 100 200 400                                       | - - -
            one READY run in between starts over          | - - - 2000 - -                  | 100 200 400 100 100 200                           | - - - - - -
            crash loop is quick exits only                | - - - -                         | 100 200 400 30000                                 | - - - L
            a served run ends the crash loop              | - - - - 5000 -                  | 100 200 400 30000 100 100                         | - - - L - -
            served runs never make a crash loop           | 1000 1000 1000 1000 1000 1000 1000 1000 | 100 100 100 100 100 100 100 100 | - - - - - - - -
            """)
    void restartDecisions(String scenario, String readyFor, String delays, String crashLoops) {
        TestClock clock = new TestClock(T0);
        Backoff backoff = new Backoff(new FleetProperties.Restart(RestartPolicy.ALWAYS, Duration.ofMillis(100), 2.0,
                Duration.ofSeconds(30), Duration.ofSeconds(10), 3, Duration.ofSeconds(60), Duration.ofSeconds(1)));
        List<String> gotDelays = new ArrayList<>();
        List<String> gotLoops = new ArrayList<>();

        for (String ready : readyFor.trim().split(" +")) {
            clock.advance(Duration.ofSeconds(1));
            Duration readyForDuration = ready.equals("-") ? null : Duration.ofMillis(Long.parseLong(ready));
            Duration uptime = readyForDuration == null ? QUICK : readyForDuration.plus(QUICK);
            Backoff.Decision decision = backoff.next(uptime, readyForDuration, clock.instant());
            gotDelays.add(Long.toString(decision.delay().toMillis()));
            gotLoops.add(decision.crashLoop() ? "L" : "-");
        }

        assertThat(gotDelays).as("delays").containsExactlyElementsOf(Arrays.asList(delays.trim().split(" +")));
        assertThat(gotLoops).as("crash loops").containsExactlyElementsOf(Arrays.asList(crashLoops.trim().split(" +")));
    }

    @Test
    void minUptimeOfZeroCountsEveryReadyProcessAsStarted() {
        Backoff backoff = new Backoff(new FleetProperties.Restart(RestartPolicy.ALWAYS, Duration.ofMillis(100), 2.0,
                Duration.ofSeconds(30), Duration.ofSeconds(10), 3, Duration.ofSeconds(60), Duration.ZERO));

        assertThat(backoff.ranStably(Duration.ZERO)).isTrue();
        assertThat(backoff.ranStably(null)).isFalse();
        assertThat(backoff.next(QUICK, Duration.ZERO, T0).delay()).isEqualTo(Duration.ofMillis(100));
        assertThat(backoff.next(QUICK, Duration.ZERO, T0.plusMillis(1)).delay()).isEqualTo(Duration.ofMillis(100));
    }

    /** A clock the test moves by hand. */
    private static final class TestClock extends Clock {

        private Instant now;

        TestClock(Instant start) {
            this.now = start;
        }

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
