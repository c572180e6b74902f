package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class LogRateLimitTests {

    private static final Instant T0 = Instant.parse("2026-12-02T12:00:00Z");

    private final List<String> reports = new ArrayList<>();

    private final LogRateLimit.Reports recorder = new LogRateLimit.Reports() {
        @Override
        public void suppressing(int burst, Duration interval, Instant until) {
            reports.add("suppressing " + burst + " per " + interval + " until " + until);
        }

        @Override
        public void suppressed(long count) {
            reports.add("suppressed " + count);
        }
    };

    @Test
    void theBurstIsLoggedThenLinesAreSuppressedUntilTheIntervalEndsAndCountedWhenTheNextBegins() {
        LogRateLimit limit = new LogRateLimit(new LogRateLimit.Rule(Duration.ofSeconds(30), 3), recorder);

        List<Boolean> admitted = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            admitted.add(limit.admit(T0.plusSeconds(i)));
        }
        assertThat(admitted).containsExactly(true, true, true, false, false);
        assertThat(reports).containsExactly("suppressing 3 per PT30S until 2026-12-02T12:00:30Z");

        assertThat(limit.admit(T0.plusMillis(29_999))).isFalse();
        assertThat(limit.admit(T0.plusSeconds(30))).as("a new interval begins at its end").isTrue();
        assertThat(reports).containsExactly("suppressing 3 per PT30S until 2026-12-02T12:00:30Z", "suppressed 3");
    }

    @Test
    void anIntervalBeginsWithTheFirstLineAfterTheLastEndedNotOnAFixedGrid() {
        LogRateLimit limit = new LogRateLimit(new LogRateLimit.Rule(Duration.ofSeconds(10), 1), recorder);

        assertThat(limit.admit(T0)).isTrue();
        assertThat(limit.admit(T0.plusSeconds(25))).isTrue();
        assertThat(limit.admit(T0.plusSeconds(34))).as("within the interval that began at 25 s").isFalse();
        assertThat(limit.admit(T0.plusSeconds(35))).isTrue();
        assertThat(reports).containsExactly("suppressing 1 per PT10S until 2026-12-02T12:00:35Z", "suppressed 1");
    }

    @Test
    void finishReportsWhatWasSuppressedOnceAndNothingWhenNothingWas() {
        LogRateLimit limit = new LogRateLimit(new LogRateLimit.Rule(Duration.ofSeconds(30), 1), recorder);
        limit.finish();
        assertThat(reports).isEmpty();

        limit.admit(T0);
        limit.admit(T0);
        limit.admit(T0);
        limit.finish();
        limit.finish();

        assertThat(reports).containsExactly("suppressing 1 per PT30S until 2026-12-02T12:00:30Z", "suppressed 2");
    }

    @Test
    void aZeroIntervalLogsEveryLine() {
        LogRateLimit limit = new LogRateLimit(LogRateLimit.NONE, recorder);
        for (int i = 0; i < 100_000; i++) {
            assertThat(limit.admit(T0)).isTrue();
        }
        limit.finish();
        assertThat(reports).isEmpty();
    }

    @Test
    void aLimitNeedsAPositiveBurstAndNoNegativeInterval() {
        assertThatIllegalArgumentException().isThrownBy(() -> new LogRateLimit.Rule(Duration.ofSeconds(1), 0));
        assertThatIllegalArgumentException().isThrownBy(() -> new LogRateLimit.Rule(Duration.ofSeconds(-1), 5));
    }
}
