package dev.shepherd.ctl;

import tools.jackson.databind.JsonNode;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The output lines of several workers, merged by the time the master read them for {@code logs} without an id, each
 * worker's kept in its own order (by {@code seq}). Not a sort of the times as text: {@code Instant} leaves out a
 * fraction's trailing zeros, so {@code 01.12Z} sorted after {@code 01.123Z}, and a worker's lines came out of order.
 */
final class LogMerge {

    /** One element to print, and the time it merges by: a marker's is that of its worker's next line. */
    record Printed(int worker, JsonNode element, Instant at) {
    }

    private LogMerge() {
    }

    /** One worker's elements, in their order, each with the time it merges by. */
    static List<Printed> collect(int worker, List<JsonNode> elements) {
        List<Printed> printed = new ArrayList<>(elements.size());
        for (int i = 0; i < elements.size(); i++) {
            int timed = LogFollower.isMarker(elements.get(i)) && i + 1 < elements.size() ? i + 1 : i;
            printed.add(new Printed(worker, elements.get(i), time(elements.get(timed))));
        }
        return printed;
    }

    /** The workers' elements merged by time; of equal times, the worker listed first goes first. */
    static List<Printed> merge(List<List<Printed>> workers) {
        int[] next = new int[workers.size()];
        PriorityQueue<Integer> heads = new PriorityQueue<>(Math.max(1, workers.size()), Comparator
                .comparing((Integer w) -> workers.get(w).get(next[w]).at()).thenComparing(w -> w));
        List<Printed> merged = new ArrayList<>();
        for (int w = 0; w < workers.size(); w++) {
            if (!workers.get(w).isEmpty()) {
                heads.add(w);
            }
        }
        while (!heads.isEmpty()) {
            int w = heads.remove();
            merged.add(workers.get(w).get(next[w]++));
            if (next[w] < workers.get(w).size()) {
                heads.add(w);
            }
        }
        return merged;
    }

    private static Instant time(JsonNode element) {
        try {
            return Instant.parse(element.path("at").asString(""));
        } catch (DateTimeParseException ex) {
            return Instant.MIN;
        }
    }
}
