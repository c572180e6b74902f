package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OutputBudgetTests {

    private final AtomicLong now = new AtomicLong(5_000_000_000L);

    @Test
    void aSecondsWorthIsReadAtOnceThenTheReaderWaitsForWhatItOverspent() {
        OutputBudget budget = new OutputBudget(1000, now::get);
        assertThat(budget.spend(600)).isZero();
        assertThat(budget.spend(400)).isZero();
        assertThat(budget.spend(250)).as("250 bytes over: a quarter of a second").isEqualTo(250_000_000L);
        now.addAndGet(250_000_000L);
        assertThat(budget.spend(0)).as("the wait paid it back").isZero();
        assertThat(budget.spend(1)).isEqualTo(1_000_000L);
    }

    @Test
    void anIdleWorkerSavesAtMostOneSecondsWorth() {
        OutputBudget budget = new OutputBudget(1000, now::get);
        now.addAndGet(60_000_000_000L);
        assertThat(budget.spend(1000)).isZero();
        assertThat(budget.spend(1000)).as("a minute idle earns one second, not sixty").isEqualTo(1_000_000_000L);
    }

    /** Many reads a few microseconds apart earn what the time between them is worth, not nothing each. */
    @Test
    void timeTooShortToEarnAByteIsNotLost() {
        OutputBudget budget = new OutputBudget(1000, now::get);
        budget.spend(1000);
        for (int i = 0; i < 1000; i++) {
            now.addAndGet(500_000L); // half a byte's worth each
            budget.spend(0);
        }
        assertThat(budget.spend(500)).as("half a second earned 500 bytes").isZero();
        assertThat(budget.spend(1)).isPositive();
    }

    /**
     * Through the pump on a real clock: however fast the output comes (here as fast as it is read), it is read no
     * faster than the rate.
     */
    @Test
    void aPumpReadsAnEndlessOutputNoFasterThanTheRate() throws Exception {
        long rate = 64 * 1024;
        AtomicLong read = new AtomicLong();
        java.io.InputStream endless = new java.io.InputStream() {
            @Override
            public int read() {
                throw new UnsupportedOperationException("the pump reads chunks");
            }

            @Override
            public int read(byte[] bytes, int offset, int length) {
                if (read.get() > 3 * rate) {
                    return -1;
                }
                // A line per read: one filled with newlines logged ~200,000 empty lines (19 MB of the build's log).
                java.util.Arrays.fill(bytes, offset, offset + length - 1, (byte) 'y');
                bytes[offset + length - 1] = '\n';
                read.addAndGet(length);
                return length;
            }
        };
        long start = System.nanoTime();
        // About three seconds; the bound is wide because the pump logs each 8 KB line, slow on a loaded machine (it
        // once took more than ten during a full build with other tests running beside it).
        OutputPump.start(3, 3333, endless, new LogBuffer(100), java.time.Clock.systemUTC(),
                new OutputLimits(8192, java.time.Duration.ZERO, 0, rate)).get(30, java.util.concurrent.TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(read.get()).as("read in %.2f s", seconds)
                .isLessThanOrEqualTo((long) (rate * (seconds + 1)) + OutputPump.CHUNK);
        assertThat(seconds).as("three seconds' worth past the first took at least two seconds").isGreaterThan(2);
    }

    @Test
    void aRateOutOfRangeIsRefused() {
        assertThatThrownBy(() -> new OutputBudget(0, now::get)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new OutputLimits(8192, java.time.Duration.ZERO, 0, OutputBudget.MAX_BYTES_PER_SECOND + 1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
