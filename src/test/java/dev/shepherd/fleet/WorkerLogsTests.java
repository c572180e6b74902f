package dev.shepherd.fleet;

import dev.shepherd.worker.LogBuffer;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class WorkerLogsTests {

    @Test
    void workerInTheFleetKeepsOneBufferAcrossItsProcesses() {
        WorkerLogs logs = new WorkerLogs(10, 1024, 2);

        LogBuffer first = logs.open(1, 0);

        assertThat(logs.open(1, 0)).isSameAs(first);
        assertThat(logs.find(1)).containsSame(first);
    }

    /**
     * A replacement (recycle, reload, replace) gets a new id in the same slot: it shares the slot's allowance of the
     * master's log, or a worker recycled every few seconds had a new burst each time (an attacking helper's 208 MB in
     * 64 s).
     */
    @Test
    void theIdsOfOneSlotShareTheirAllowanceOfTheMastersLog() {
        WorkerLogs logs = new WorkerLogs(10, 1024, 2);

        LogBuffer first = logs.open(1, 0);
        LogBuffer replacement = logs.open(3, 0);
        LogBuffer other = logs.open(2, 1);

        assertThat(replacement).isNotSameAs(first);
        assertThat(replacement.allowance()).isSameAs(first.allowance());
        assertThat(other.allowance()).isNotSameAs(first.allowance());
    }

    @Test
    void onlyTheNewestRetiredIdsKeepTheirOutput() {
        WorkerLogs logs = new WorkerLogs(10, 1024, 2);
        for (int id = 1; id <= 5; id++) {
            logs.open(id, 0).add(new LogBuffer.Line(id, Instant.EPOCH, "worker " + id));
        }

        for (int id = 1; id <= 4; id++) {
            logs.retire(id);
        }

        assertThat(logs.find(1)).isEmpty();
        assertThat(logs.find(2)).isEmpty();
        assertThat(logs.find(3)).isPresent();
        assertThat(logs.find(4)).isPresent();
        assertThat(logs.find(5)).as("still in the fleet").isPresent();
        assertThat(logs.retained()).isEqualTo(3);
    }

    @Test
    void retainedBuffersStayBoundedOverManyReplacements() {
        WorkerLogs logs = new WorkerLogs(10, 1024, 16);
        for (int id = 1; id <= 100_000; id++) {
            logs.open(id, 0);
            if (id > 2) {
                logs.retire(id - 2);
            }
        }

        assertThat(logs.retained()).isEqualTo(2 + 16);
    }

    @Test
    void retiringTwiceCountsOnce() {
        WorkerLogs logs = new WorkerLogs(10, 1024, 1);
        logs.open(1, 0);
        logs.open(2, 0);

        logs.retire(1);
        logs.retire(1);

        assertThat(logs.find(1)).isPresent();
    }

    @Test
    void zeroRetiredToKeepForgetsAtOnce() {
        WorkerLogs logs = new WorkerLogs(10, 1024, 0);
        logs.open(1, 0);

        logs.retire(1);

        assertThat(logs.find(1)).isEmpty();
        assertThat(logs.retained()).isZero();
    }
}
