package dev.shepherd.fleet;

import java.util.BitSet;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * The worker index: a stable instance number 0..N-1 that a worker reads as {@code SHEPHERD_WORKER_INDEX} (and
 * {@code NODE_APP_INSTANCE}, PM2's name for it) and that {@code {index}} puts in its arguments, unlike the id,
 * which only counts up. Runs on the supervisor's thread.
 *
 * <p>An index belongs to a slot, not to a process: a restarted worker keeps its own; a replacement (rolling
 * reload, recycle, admin restart) takes the index of the worker it replaces, and gives it back when it never gets
 * READY; a new slot takes the lowest index no slot holds; a scale-down retires the workers with the highest
 * indexes. So the slot holders always have exactly the indexes 0..N-1. A worker that is draining after it was
 * replaced or scaled down no longer holds its slot: while it drains, its successor may run with the same index.
 */
final class WorkerIndexes {

    private static final Comparator<Worker> HIGHEST_FIRST = Comparator.comparingInt((Worker worker) -> worker.index).reversed();

    private WorkerIndexes() {
    }

    /** The index for a new slot: the lowest that no worker holding a slot has. */
    static int forNewSlot(Collection<Worker> workers) {
        BitSet taken = new BitSet();
        for (Worker worker : workers) {
            if (worker.holdsSlot()) {
                taken.set(worker.index);
            }
        }
        return taken.nextClearBit(0);
    }

    /** The index for the worker that takes over from {@code old}: the same. */
    static int forReplacement(Worker old) {
        return old.index;
    }

    /** The slot holders among {@code workers} that a scale-down to {@code desired} retires: the highest indexes. */
    static List<Worker> toRetire(Collection<Worker> workers, int desired) {
        List<Worker> holding = workers.stream().filter(Worker::holdsSlot).toList();
        return holding.stream().sorted(HIGHEST_FIRST).limit(Math.max(0, holding.size() - desired)).toList();
    }
}
