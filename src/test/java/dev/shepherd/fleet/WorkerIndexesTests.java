package dev.shepherd.fleet;

import dev.shepherd.worker.LogBuffer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class WorkerIndexesTests {

    private final List<Worker> workers = new ArrayList<>();
    private int nextId = 1;

    @Test
    void newSlotsTakeTheIndexesFromZeroUp() {
        for (int i = 0; i < 4; i++) {
            add(WorkerIndexes.forNewSlot(workers));
        }

        assertThat(workers).extracting(worker -> worker.index).containsExactly(0, 1, 2, 3);
    }

    @Test
    void newSlotTakesTheLowestIndexThatNoSlotHolds() {
        add(0);
        add(2);
        add(3);

        assertThat(WorkerIndexes.forNewSlot(workers)).isEqualTo(1);
    }

    @Test
    void indexOfARetiredWorkerIsFreeAtOnceEvenWhileItDrains() {
        add(0);
        Worker draining = add(1);
        draining.retire();

        assertThat(WorkerIndexes.forNewSlot(workers)).isEqualTo(1);
    }

    @Test
    void replacementTakesTheIndexOfTheWorkerItReplacesAndTheReplacedOneGivesUpItsSlot() {
        add(0);
        Worker old = add(1);
        Worker fresh = add(WorkerIndexes.forReplacement(old));
        Worker.replaces(fresh, old);

        assertThat(fresh.index).isEqualTo(1);
        assertThat(WorkerIndexes.forNewSlot(workers)).as("both indexes still held, by the slot holders").isEqualTo(2);
        assertThat(WorkerIndexes.toRetire(workers, 1)).as("the replaced worker holds no slot").containsExactly(fresh);
    }

    @Test
    void scaleDownRetiresTheHighestIndexesWhateverTheIds() {
        Worker third = add(2);
        Worker first = add(0);
        Worker fourth = add(3);
        Worker second = add(1);

        assertThat(WorkerIndexes.toRetire(workers, 2)).containsExactly(fourth, third);
        assertThat(WorkerIndexes.toRetire(workers, 4)).isEmpty();
        assertThat(WorkerIndexes.toRetire(workers, 5)).isEmpty();
        assertThat(List.of(first, second)).doesNotContainAnyElementsOf(WorkerIndexes.toRetire(workers, 2));
    }

    @Test
    void scaleDownThenUpGivesBackTheSameIndexes() {
        for (int i = 0; i < 4; i++) {
            add(WorkerIndexes.forNewSlot(workers));
        }
        WorkerIndexes.toRetire(workers, 2).forEach(Worker::retire);
        add(WorkerIndexes.forNewSlot(workers));
        add(WorkerIndexes.forNewSlot(workers));

        assertThat(workers.stream().filter(Worker::holdsSlot).map(worker -> worker.index)).containsExactlyInAnyOrder(0, 1, 2, 3);
    }

    private Worker add(int index) {
        Worker worker = new Worker(nextId++, index, 1, null, new LogBuffer(10), null, null);
        workers.add(worker);
        return worker;
    }
}
