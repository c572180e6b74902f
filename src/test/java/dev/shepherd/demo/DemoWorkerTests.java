package dev.shepherd.demo;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DemoWorkerTests {

    private static final long SEED = 0x9E3779B97F4A7C15L;

    @Test
    void burnCpuWithNoIterationsReturnsTheSeed() {
        assertThat(DemoWorker.burnCpu(0)).isEqualTo(SEED);
    }

    @Test
    void everyIterationCountGivesADifferentResultSoTheLoopCannotBeDropped() {
        Set<Long> results = new HashSet<>();
        for (long iterations = 0; iterations <= 1000; iterations++) {
            results.add(DemoWorker.burnCpu(iterations));
        }
        assertThat(results).hasSize(1001);
        assertThat(DemoWorker.burnCpu(1_000_000)).isNotEqualTo(DemoWorker.burnCpu(1_000_001));
    }

    @Test
    void burnCpuIsDeterministic() {
        assertThat(DemoWorker.burnCpu(12_345)).isEqualTo(DemoWorker.burnCpu(12_345));
    }
}
