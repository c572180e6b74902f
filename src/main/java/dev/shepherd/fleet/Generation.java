package dev.shepherd.fleet;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * One generation of workers as {@code GET /fleet} shows it: its number, whether its spec is the current one (what
 * scale, replace and recycle start), how many workers of it are in the fleet, and what they run.
 */
public record Generation(long generation, boolean current, int workers, WorkerSpec spec) {

    /**
     * Every generation that still has a worker in {@code fleet}, plus the current one, oldest first. The supervisor's
     * thread.
     */
    static List<Generation> of(List<Worker> fleet, long currentGeneration, WorkerSpec currentSpec) {
        TreeMap<Long, Worker> firstOf = new TreeMap<>();
        TreeMap<Long, Integer> counts = new TreeMap<>();
        for (Worker worker : fleet) {
            firstOf.putIfAbsent(worker.generation, worker);
            counts.merge(worker.generation, 1, Integer::sum);
        }
        counts.putIfAbsent(currentGeneration, 0);
        List<Generation> generations = new ArrayList<>();
        counts.forEach((generation, count) -> generations.add(new Generation(generation, generation == currentGeneration,
                count, generation == currentGeneration ? currentSpec : firstOf.get(generation).spec)));
        return List.copyOf(generations);
    }
}
