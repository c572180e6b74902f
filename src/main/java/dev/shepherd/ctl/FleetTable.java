package dev.shepherd.ctl;

import dev.shepherd.TerminalText;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The table of {@code shepherd ls}, one row per worker of {@code GET /fleet}, in the manner of {@code pm2 ls}:
 * columns padded to their widest cell, {@code -} where the API has no value (no process, no exit yet).
 */
final class FleetTable {

    static final List<String> HEADER = List.of("ID", "INDEX", "PID", "STATE", "UPTIME", "RESTARTS", "IN FLIGHT",
            "REQUESTS", "MEMORY", "CPU", "LAST EXIT");
    /** A last exit's reason is cut to this many characters; {@code ls --json} has it whole. */
    static final int REASON_LIMIT = 60;

    private FleetTable() {
    }

    static String render(JsonNode fleet) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(HEADER);
        for (JsonNode worker : fleet.path("workers").values()) {
            rows.add(List.of(worker.path("id").asString(), worker.path("index").asString(),
                    worker.path("pid").asLong() > 0 ? worker.path("pid").asString() : "-",
                    state(worker), uptime(worker.path("uptimeMillis")),
                    worker.path("restarts").asString(), worker.path("inFlight").asString(),
                    worker.path("requests").asString(), memory(worker.path("memoryBytes")),
                    cpu(worker.path("cpuTimeMillis"), worker.path("uptimeMillis")), lastExit(worker.path("lastExit")))
                    .stream().map(TerminalText::safe).toList());
        }
        return align(rows);
    }

    /**
     * The state, and for a worker whose restart is due, when: {@code BACKOFF (restarts in 4s)}; for one out of step
     * (a new connection per request), {@code READY (out of step)}.
     */
    static String state(JsonNode worker) {
        String state = worker.path("state").asString("-");
        JsonNode restartIn = worker.path("restartInMillis");
        if (restartIn.isNumber()) {
            // Rounded up: "in 0s" while it waits reads as a stuck worker.
            return state + " (restarts in " + uptime(restartIn.asLong() + 999) + ")";
        }
        return worker.path("outOfStep").asBoolean(false) ? state + " (out of step)" : state;
    }

    static String align(List<List<String>> rows) {
        int[] widths = new int[rows.get(0).size()];
        rows.forEach(row -> {
            for (int column = 0; column < row.size(); column++) {
                widths[column] = Math.max(widths[column], row.get(column).length());
            }
        });
        StringBuilder table = new StringBuilder();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int column = 0; column < row.size(); column++) {
                line.append(column == 0 ? "" : "  ").append(column == row.size() - 1 ? row.get(column)
                        : String.format("%-" + widths[column] + "s", row.get(column)));
            }
            table.append(line.toString().stripTrailing()).append('\n');
        }
        return table.toString();
    }

    /** 59s, 3m12s, 2h05m, 3d04h; {@code -} when there is no process. */
    static String uptime(JsonNode millis) {
        return millis.isNumber() ? uptime(millis.asLong()) : "-";
    }

    /** 59s, 3m12s, 2h05m, 3d04h. */
    static String uptime(long millis) {
        long seconds = millis / 1000;
        if (seconds < 60) {
            return seconds + "s";
        }
        if (seconds < 3600) {
            return String.format("%dm%02ds", seconds / 60, seconds % 60);
        }
        if (seconds < 86_400) {
            return String.format("%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        }
        return String.format("%dd%02dh", seconds / 86_400, seconds % 86_400 / 3600);
    }

    /**
     * The process's CPU time over its uptime, as {@code ps}'s {@code %CPU} (and PM2's list's column, which shows a
     * recent rate): {@code 12%}, past 100 % for a process that keeps several cores busy; {@code -} without a process
     * or before its first second. A worker spinning since it started shows near 100 %; one that spun a minute in an
     * hour shows little ({@code top}'s rates are the place for now).
     */
    static String cpu(JsonNode cpuMillis, JsonNode uptimeMillis) {
        if (!cpuMillis.isNumber() || !uptimeMillis.isNumber() || uptimeMillis.asLong() < 1000) {
            return "-";
        }
        return Math.round(100.0 * cpuMillis.asLong() / uptimeMillis.asLong()) + "%";
    }

    /** Binary units with one decimal: 512 B, 48.3 MiB, 1.2 GiB. */
    static String memory(JsonNode bytes) {
        if (!bytes.isNumber()) {
            return "-";
        }
        double value = bytes.asLong();
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? (long) value + " B" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    /**
     * "KILL: reason" or "exit 3: reason"; the reason alone ("cannot start: ...") when no process ran (pid 0, whose
     * code -1 means nothing); {@code -} before the first exit.
     */
    static String lastExit(JsonNode exit) {
        if (!exit.isObject()) {
            return "-";
        }
        String signal = exit.path("signal").asString(null);
        String how = signal != null ? signal : "exit " + exit.path("code").asInt();
        String reason = exit.path("reason").asString(null);
        if (reason == null || reason.isBlank()) {
            return how;
        }
        String oneLine = reason.replaceAll("\\s+", " ").strip();
        String shown = oneLine.length() > REASON_LIMIT ? oneLine.substring(0, REASON_LIMIT) + "…" : oneLine;
        return exit.path("pid").asLong(1) != 0 ? how + ": " + shown : shown;
    }
}
