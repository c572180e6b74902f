package dev.shepherd.ctl;

import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A master's admin API as {@code logs -f} asks it, in memory: the workers in the fleet ({@code GET /fleet}), the
 * events ({@code GET /fleet/events}, with {@code after=} or, as an older master, without it), and each worker id's
 * lines ({@code GET /fleet/workers/{id}/logs} with {@code lines} and {@code after}), of which the first may have been
 * dropped. Keeps every path asked.
 */
final class FakeFleetLogs implements Function<String, JsonNode> {

    private static final Pattern LOGS = Pattern.compile("/fleet/workers/(\\d+)/logs\\?lines=(\\d+)(?:&after=(\\d+))?");

    final List<String> asked = new ArrayList<>();
    private final List<Integer> fleet = new ArrayList<>();
    private final List<String> events = new ArrayList<>();
    /** Each worker id's lines, from its first; those of an id forgotten are removed. */
    private final Map<Integer, Integer> written = new LinkedHashMap<>();
    private final Map<Integer, Integer> dropped = new HashMap<>();
    private boolean ignoresAfter;

    /** Worker {@code id} joins the fleet (a SPAWNED event) having written {@code lines} lines. */
    FakeFleetLogs spawn(int id, int lines) {
        return spawnUnlisted(id, lines).list(id);
    }

    /** Worker {@code id} spawned (its event) and wrote {@code lines} lines, not (yet) in {@code GET /fleet}. */
    FakeFleetLogs spawnUnlisted(int id, int lines) {
        written.put(id, lines);
        return event("SPAWNED", id);
    }

    FakeFleetLogs list(int id) {
        fleet.add(id);
        return this;
    }

    FakeFleetLogs event(String type, int id) {
        events.add("{\"seq\": " + (events.size() + 1) + ", \"type\": \"" + type + "\", \"workerId\": " + id + "}");
        return this;
    }

    /** Worker {@code id} writes {@code lines} more lines. */
    FakeFleetLogs write(int id, int lines) {
        written.merge(id, lines, Integer::sum);
        return this;
    }

    /** The first {@code lines} lines of worker {@code id} were dropped before anyone read them. */
    FakeFleetLogs drop(int id, int lines) {
        dropped.put(id, lines);
        return this;
    }

    /** Worker {@code id} leaves the fleet; its lines are kept (a retired id's). */
    FakeFleetLogs leave(int id) {
        fleet.remove(Integer.valueOf(id));
        return event("REMOVED", id);
    }

    /** The master no longer keeps worker {@code id}'s lines (beyond fleet.worker.retired-logs): a 404. */
    FakeFleetLogs forget(int id) {
        written.remove(id);
        return this;
    }

    /** As a master older than {@code GET /fleet/events?after=}: every recent event, every time. */
    FakeFleetLogs ignoringAfter() {
        ignoresAfter = true;
        return this;
    }

    @Override
    public JsonNode apply(String path) {
        asked.add(path);
        if (path.equals("/fleet")) {
            StringJoiner workers = new StringJoiner(",", "{\"workers\": [", "]}");
            fleet.forEach(id -> workers.add("{\"id\": " + id + "}"));
            return Json.MAPPER.readTree(workers.toString());
        }
        if (path.startsWith(SpawnedWorkers.PATH)) {
            long after = path.contains("?after=") && !ignoresAfter ? Long.parseLong(path.substring(path.indexOf('=') + 1)) : 0;
            return Json.MAPPER.readTree(events.subList((int) after, events.size()).toString());
        }
        Matcher logs = LOGS.matcher(path);
        if (!logs.matches()) {
            throw new IllegalArgumentException("not asked by logs -f: " + path);
        }
        return Json.MAPPER.readTree(logs(Integer.parseInt(logs.group(1)), Integer.parseInt(logs.group(2)),
                logs.group(3) == null ? null : Long.parseLong(logs.group(3))));
    }

    private String logs(int id, int lines, Long after) {
        Integer newest = written.get(id);
        if (newest == null) {
            throw new CtlException("No such worker: Worker " + id + " is not in the fleet");
        }
        int oldest = dropped.getOrDefault(id, 0) + 1;
        long from = after == null ? Math.max(oldest, newest - lines + 1) : Math.max(oldest, after + 1);
        StringJoiner answer = new StringJoiner(", ", "[", "]");
        if (after != null && from > after + 1) {
            answer.add("{\"seq\": " + (from - 1) + ", \"missed\": " + (from - 1 - after) + "}");
        }
        for (long seq = from; seq <= Math.min(newest, from + lines - 1); seq++) {
            answer.add("{\"seq\": " + seq + ", \"pid\": " + (1000 + id) + ", \"at\": \"2025-01-01T00:00:0" + id
                    + "Z\", \"line\": \"line " + seq + "\", \"stream\": \"stdout\"}");
        }
        return answer.toString();
    }
}
