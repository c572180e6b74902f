package dev.shepherd.ctl;

import tools.jackson.databind.JsonNode;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The workers spawned since {@code logs -f} began, from the fleet's {@code SPAWNED} events, asked for by the seq of the
 * last event seen ({@code GET /fleet/events?after=}): a worker that came and went between two reads of
 * {@code GET /fleet} (a reload's new worker that crashed at once) is found too, where the list of workers never showed
 * it. An answer holds at most the master's recent events (1,000). A master older than {@code after=} answers all of
 * them, every time: it is asked no more, and the follow finds workers in {@code GET /fleet} alone. One thread.
 */
final class SpawnedWorkers {

    static final String PATH = "/fleet/events";

    private final Function<String, JsonNode> get;
    /** The seq of the last event seen; -1 before {@link #start}, or once the master turned out to ignore after=. */
    private long after = -1;

    SpawnedWorkers(Function<String, JsonNode> get) {
        this.get = get;
    }

    /**
     * Marks where the follow begins: the events recorded after the newest now are the new ones. A master that cannot
     * list its events (any refusal) is not asked again.
     */
    void start() {
        try {
            List<JsonNode> recent = List.copyOf(get.apply(PATH).values());
            after = recent.isEmpty() ? 0 : Math.max(0, recent.get(recent.size() - 1).path("seq").asLong(0));
        } catch (CtlException ex) {
            if (ex.exitCode() == Ctl.UNREACHABLE) {
                throw ex;
            }
            after = -1;
        }
    }

    /** The ids of the workers spawned since the last call (or {@link #start}), each once, in the order of their events. */
    List<Integer> next() {
        if (after < 0) {
            return List.of();
        }
        Set<Integer> spawned = new LinkedHashSet<>();
        long newest = after;
        boolean ignored = false;
        for (JsonNode event : get.apply(PATH + "?after=" + after).values()) {
            long seq = event.path("seq").asLong(-1);
            if (seq <= after) {
                // after= ignored: the master is older than it, and would send its 1,000 events twice a second.
                ignored = true;
                continue;
            }
            newest = Math.max(newest, seq);
            int worker = event.path("workerId").asInt(0);
            if ("SPAWNED".equals(event.path("type").asString("")) && worker > 0) {
                spawned.add(worker);
            }
        }
        after = ignored ? -1 : newest;
        return List.copyOf(spawned);
    }
}
