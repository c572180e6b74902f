package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class LogRateLimitTests {

    /** The monotonic clock, in nanoseconds; starts negative, as System.nanoTime may. */
    private final AtomicLong now = new AtomicLong(-5_000_000_000L);

    private final List<String> reports = new ArrayList<>();

    private final LogRateLimit.Reports recorder = new LogRateLimit.Reports() {
        @Override
        public void suppressing(int burst, Duration interval, Duration left) {
            reports.add("suppressing " + burst + " per " + interval.toSeconds() + " s, " + left.toMillis() + " ms left");
        }

        @Override
        public void suppressed(long count) {
            reports.add("suppressed " + count);
        }
    };

    @Test
    void theBurstIsLoggedThenLinesAreSuppressedUntilTheIntervalEndsAndCountedWhenTheNextBegins() {
        LogRateLimit limit = limit(30, 3);

        List<Boolean> admitted = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            admitted.add(limit.admit(10, recorder));
            advance(1_000);
        }
        assertThat(admitted).containsExactly(true, true, true, false, false);
        assertThat(reports).containsExactly("suppressing 3 per 30 s, 27000 ms left");

        advance(24_999);
        assertThat(limit.admit(10, recorder)).as("29.999 s after the interval began").isFalse();
        advance(1);
        assertThat(limit.admit(10, recorder)).as("a new interval begins at its end").isTrue();
        assertThat(reports).containsExactly("suppressing 3 per 30 s, 27000 ms left", "suppressed 3");
    }

    @Test
    void anIntervalBeginsWithTheFirstLineAfterTheLastEndedNotOnAFixedGrid() {
        LogRateLimit limit = limit(10, 1);

        assertThat(limit.admit(1, recorder)).isTrue();
        advance(25_000);
        assertThat(limit.admit(1, recorder)).isTrue();
        advance(9_000);
        assertThat(limit.admit(1, recorder)).as("within the interval that began at 25 s").isFalse();
        advance(1_000);
        assertThat(limit.admit(1, recorder)).isTrue();
        assertThat(reports).containsExactly("suppressing 1 per 10 s, 1000 ms left", "suppressed 1");
    }

    /** The log's volume is bounded, not only its lines: a long line counts once per started KiB of log text. */
    @Test
    void aLongLineCountsOncePerStartedUnitOfLogText() {
        LogRateLimit limit = limit(30, 10);

        assertThat(limit.admit(8 * LogRateLimit.UNIT, recorder)).as("8 units").isTrue();
        assertThat(limit.admit(LogRateLimit.UNIT + 1, recorder)).as("2 units: 10 now").isTrue();
        assertThat(limit.admit(1, recorder)).isFalse();

        LogRateLimit other = limit(30, 10);
        for (int i = 0; i < 10; i++) {
            assertThat(other.admit(LogRateLimit.UNIT, recorder)).as("exactly one unit").isTrue();
        }
        assertThat(other.admit(0, recorder)).isFalse();
    }

    @Test
    void finishReportsWhatWasSuppressedOnceAndNothingWhenNothingWas() {
        LogRateLimit limit = limit(30, 1);
        limit.finish(recorder);
        assertThat(reports).isEmpty();

        limit.admit(1, recorder);
        limit.admit(1, recorder);
        limit.admit(1, recorder);
        limit.finish(recorder);
        limit.finish(recorder);

        assertThat(reports).containsExactly("suppressing 1 per 30 s, 30000 ms left", "suppressed 2");
    }

    @Test
    void aZeroIntervalOrAZeroBurstLogsEveryLine() {
        for (LogRateLimit limit : List.of(new LogRateLimit(new LogRateLimit.Rule(Duration.ZERO, 0), now::get), limit(30, 0),
                new LogRateLimit(new LogRateLimit.Rule(Duration.ZERO, 5), now::get))) {
            for (int i = 0; i < 100_000; i++) {
                assertThat(limit.admit(80, recorder)).isTrue();
            }
            limit.finish(recorder);
        }
        assertThat(reports).isEmpty();
    }

    @Test
    void aLimitNeedsNoNegativeValues() {
        assertThatIllegalArgumentException().isThrownBy(() -> new LogRateLimit.Rule(Duration.ofSeconds(1), -1));
        assertThatIllegalArgumentException().isThrownBy(() -> new LogRateLimit.Rule(Duration.ofSeconds(-1), 5));
    }

    private LogRateLimit limit(int seconds, int burst) {
        return new LogRateLimit(new LogRateLimit.Rule(Duration.ofSeconds(seconds), burst), now::get);
    }

    private void advance(long millis) {
        now.addAndGet(millis * 1_000_000);
    }
}
