package dev.shepherd.ctl;

import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The rounds of asks of {@code logs -f}: one {@link LogFollower} per worker id, of every worker or of one. The workers
 * there when the follow begins give their last {@code -n} lines; a worker that appears later, in {@code GET /fleet} or
 * in a {@code SPAWNED} event ({@link SpawnedWorkers}: one that came and went between two rounds), gives every line
 * from its first, as {@code pm2 logs} and {@code kubectl logs -f} show a new process's; one that has left the fleet
 * gives its last lines until an ask is not full, then is let go. One thread.
 */
final class FleetLogFollower {

    /**
     * How many ids let go are remembered, newest kept: a {@code SPAWNED} event read after its worker was let go must
     * not print its lines again. Far above the workers one round can let go.
     */
    static final int LET_GO_KEPT = 1024;

    /**
     * What one round got: the workers' elements merged by time; the workers that came and went whose lines the master
     * no longer keeps ({@code fleet.worker.retired-logs}); whether an ask got a full page (more may be waiting).
     */
    record Round(List<LogMerge.Printed> printed, List<Integer> forgotten, boolean full) {
    }

    private final Function<String, JsonNode> get;
    /** The one worker followed; null: every worker. */
    private final Integer only;
    private final int lines;
    private final int page;
    /** The stream followed, as the API names it; null: both. */
    private final String stream;
    private final SpawnedWorkers spawned;
    private final Map<Integer, LogFollower> followers = new HashMap<>();
    private final Set<Integer> letGo = new LinkedHashSet<>();
    private boolean started;

    /**
     * @param only the one worker to follow; null: every worker
     * @param lines how many of its last lines a worker there at the start gives
     * @param page how many lines one ask gets at most
     * @param stream {@code stdout} or {@code stderr}: that stream's lines only; null: both
     */
    FleetLogFollower(Function<String, JsonNode> get, Integer only, int lines, int page, String stream) {
        this.get = get;
        this.only = only;
        this.lines = lines;
        this.page = page;
        this.stream = stream;
        this.spawned = new SpawnedWorkers(get);
    }

    /** Asks every worker followed for its lines not got yet; the first round gives the workers' last lines. */
    Round next() {
        if (!started && only == null) {
            // Before the list of workers: a worker spawned between the two is in the list, or in a later event.
            spawned.start();
        }
        List<Integer> born = started && only == null ? spawned.next() : List.of();
        Set<Integer> current = new LinkedHashSet<>(only != null ? List.of(only) : workers(get));
        Set<Integer> asked = new LinkedHashSet<>(current);
        followers.keySet().stream().filter(worker -> !current.contains(worker)).sorted().forEach(asked::add);
        born.stream().filter(worker -> !letGo.contains(worker)).forEach(asked::add);
        List<List<LogMerge.Printed>> fresh = new ArrayList<>();
        List<Integer> forgotten = new ArrayList<>();
        boolean full = false;
        for (int worker : asked) {
            List<JsonNode> elements = read(worker, current.contains(worker));
            if (elements == null) {
                forgotten.add(worker);
            }
            fresh.add(LogMerge.collect(worker, elements != null ? elements : List.of()));
            LogFollower follower = followers.get(worker);
            full |= follower != null && follower.full();
        }
        started = true;
        return new Round(LogMerge.merge(fresh), forgotten, full);
    }

    /**
     * The elements of {@code worker} not got yet: its last lines in the first round, then those after; a new one's
     * from its first. A worker not in the fleet is let go once an ask is not full. Null for a new worker whose lines
     * the master no longer has (then it is let go).
     */
    private List<JsonNode> read(int worker, boolean inFleet) {
        LogFollower follower = followers.get(worker);
        boolean isNew = follower == null;
        if (isNew) {
            follower = new LogFollower(worker, page, stream);
            followers.put(worker, follower);
            if (!started) {
                return follower.start(get, lines);
            }
            follower.fromFirst();
        }
        if (inFleet) {
            return follower.next(get);
        }
        List<JsonNode> elements = lastOf(follower);
        if (elements == null || !follower.full()) {
            letGo(worker);
        }
        return elements != null || isNew ? elements : List.of();
    }

    /**
     * The lines of a worker that is not in the fleet since the last ask; null once the master forgot it (beyond
     * {@code fleet.worker.retired-logs}) or cannot say. A master that cannot be reached ends the follow, as when the
     * list of workers cannot be read: its workers were not forgotten.
     */
    private List<JsonNode> lastOf(LogFollower follower) {
        try {
            return follower.next(get);
        } catch (CtlException ex) {
            if (ex.exitCode() == Ctl.UNREACHABLE) {
                throw ex;
            }
            return null;
        }
    }

    private void letGo(int worker) {
        followers.remove(worker);
        letGo.add(worker);
        if (letGo.size() > LET_GO_KEPT) {
            letGo.remove(letGo.iterator().next());
        }
    }

    /** The ids of the workers in the fleet now ({@code GET /fleet}), in its order. */
    static List<Integer> workers(Function<String, JsonNode> get) {
        List<Integer> ids = new ArrayList<>();
        get.apply("/fleet").path("workers").values().forEach(worker -> ids.add(worker.path("id").asInt()));
        return ids;
    }
}
