package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class RetryBudgetTests {

    private final AtomicLong nanoTime = new AtomicLong(1_000_000_000_000L);

    @Test
    void minPerSecondRetriesAreAllowedWithNoTraffic() {
        RetryBudget budget = new RetryBudget(20, 3, nanoTime::get);

        assertThat(retries(budget, 10)).isEqualTo(3);
    }

    @Test
    void retriesAreAPercentageOfThatSecondsRequests() {
        RetryBudget budget = new RetryBudget(20, 0, nanoTime::get);
        requests(budget, 100);

        assertThat(retries(budget, 50)).isEqualTo(20);
    }

    @Test
    void percentageComesOnTopOfTheMinimum() {
        RetryBudget budget = new RetryBudget(10, 5, nanoTime::get);
        requests(budget, 100);

        assertThat(retries(budget, 50)).isEqualTo(15);
    }

    @Test
    void spentBudgetRefillsInTheNextSecond() {
        RetryBudget budget = new RetryBudget(20, 2, nanoTime::get);
        assertThat(retries(budget, 10)).isEqualTo(2);

        advance(Duration.ofMillis(999));
        assertThat(budget.tryRetry()).as("still the same second").isFalse();

        advance(Duration.ofMillis(1));
        assertThat(retries(budget, 10)).isEqualTo(2);
    }

    @Test
    void nextSecondsBudgetFollowsThePreviousSecondsTraffic() {
        RetryBudget budget = new RetryBudget(20, 0, nanoTime::get);
        requests(budget, 100);
        assertThat(retries(budget, 50)).isEqualTo(20);

        advance(Duration.ofSeconds(1));

        // A burst of failures at the start of a second still gets the budget earned by the second before.
        assertThat(retries(budget, 50)).isEqualTo(20);
    }

    @Test
    void budgetGrowsAsRequestsArriveDuringTheSecond() {
        RetryBudget budget = new RetryBudget(50, 0, nanoTime::get);
        requests(budget, 2);
        assertThat(retries(budget, 10)).isEqualTo(1);

        requests(budget, 2);
        assertThat(retries(budget, 10)).isEqualTo(1);
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
        int granted = 0;
        for (int i = 0; i < attempts; i++) {
            if (budget.tryRetry()) {
                granted++;
            }
        }
        return granted;
    }
}
