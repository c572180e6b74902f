package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RetryBudgetTests {

    private final AtomicLong nanoTime = new AtomicLong(1_000_000_000_000L);

    @Test
    void tenSecondsOfTheMinimumAreAllowedWithNoTraffic() {
        RetryBudget budget = new RetryBudget(20, 3, nanoTime::get);

        assertThat(retries(budget, 100)).isEqualTo(30);
    }

    @Test
    void retriesAreAPercentageOfTheRequests() {
        RetryBudget budget = new RetryBudget(20, 0, nanoTime::get);
        requests(budget, 100);

        assertThat(retries(budget, 50)).isEqualTo(20);
    }

    @Test
    void percentageComesOnTopOfTheMinimum() {
        RetryBudget budget = new RetryBudget(10, 1, nanoTime::get);
        requests(budget, 100);

        assertThat(retries(budget, 50)).isEqualTo(20);
    }

    @Test
    void aBurstOfRetriesMaySpendWhatTheLastTenSecondsOfTrafficEarned() {
        RetryBudget budget = new RetryBudget(20, 0, nanoTime::get);
        for (int second = 0; second < 10; second++) {
            requests(budget, 150);
            advance(Duration.ofSeconds(1));
        }
        advance(Duration.ofMillis(-1));

        // A crashed worker takes 250 requests with it: all but the budget's bound are retried.
        assertThat(retries(budget, 400)).isEqualTo(300);
    }

    @Test
    void trafficOlderThanTenSecondsNoLongerCounts() {
        RetryBudget budget = new RetryBudget(20, 1, nanoTime::get);
        requests(budget, 1_000);

        advance(Duration.ofSeconds(10));

        assertThat(retries(budget, 500)).isEqualTo(10);
    }

    @Test
    void spentRetriesAreForgottenAfterTenSeconds() {
        RetryBudget budget = new RetryBudget(0, 1, nanoTime::get);
        assertThat(retries(budget, 50)).isEqualTo(10);
        advance(Duration.ofSeconds(9));
        assertThat(budget.tryRetry()).as("the spent retries still count").isFalse();

        advance(Duration.ofSeconds(1));

        assertThat(retries(budget, 50)).isEqualTo(10);
    }

    @Test
    void whenEveryAttemptFailsRetriesStayNearThePercentage() {
        RetryBudget budget = new RetryBudget(20, 0, nanoTime::get);
        long retried = 0;
        for (int second = 0; second < 30; second++) {
            requests(budget, 100);
            retried += retries(budget, 200);
            advance(Duration.ofSeconds(1));
        }
        assertThat(retried).isLessThanOrEqualTo(30 * 100 * 20 / 100);
    }

    @Test
    void zeroPercentAndZeroMinimumAllowsNoRetry() {
        RetryBudget budget = new RetryBudget(0, 0, nanoTime::get);
        requests(budget, 1_000);

        assertThat(budget.tryRetry()).isFalse();
    }

    private void advance(Duration duration) {
        nanoTime.addAndGet(duration.toNanos());
    }

    private static void requests(RetryBudget budget, int count) {
        for (int i = 0; i < count; i++) {
            budget.onRequest();
        }
    }

    private static int retries(RetryBudget budget, int attempts) {
        int allowed = 0;
        for (int i = 0; i < attempts; i++) {
            if (budget.tryRetry()) {
                allowed++;
            }
        }
        return allowed;
    }
}
