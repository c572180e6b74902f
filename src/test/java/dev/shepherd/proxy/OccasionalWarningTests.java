package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class OccasionalWarningTests {

    @Test
    void theFirstOccurrenceIsToldThenOneLinePerIntervalWithTheCountSinceTheLast() {
        AtomicLong now = new AtomicLong(5);
        OccasionalWarning warning = new OccasionalWarning(now::get);

        assertThat(warning.occurred()).isEqualTo(1);
        for (int i = 0; i < 999; i++) {
            assertThat(warning.occurred()).isZero();
        }
        now.addAndGet(OccasionalWarning.INTERVAL_NANOS - 1);
        assertThat(warning.occurred()).isZero();
        now.addAndGet(1);
        assertThat(warning.occurred()).as("the 999 held back, the one before and this one").isEqualTo(1001);
        assertThat(warning.occurred()).isZero();
    }
}
