package dev.shepherd.ctl;

import dev.shepherd.TerminalText;
import tools.jackson.databind.JsonNode;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code shepherd top} shows, as plain lines: a header (health, ready of desired workers, the latest reload,
 * requests per second) and {@code ls}'s table. Keeps the previous traffic totals of {@code GET /fleet}, so that
 * each frame after the first has the request rate since the one before. Not thread-safe: one caller at a time.
 */
final class TopScreen {

    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

    private final String admin;
    private final boolean live;
    private long lastRequests = -1;
    private long lastFailures;
    private long lastNanos;
    private List<String> lastTable = List.of();

    /** {@code live}: a screen that is redrawn until q, whose title says so; else one snapshot. */
    TopScreen(String admin, boolean live) {
        this.admin = admin;
        this.live = live;
    }

    /** A frame of a fleet read at {@code nanos} ({@link System#nanoTime}); {@code health} may be null. */
    List<String> frame(JsonNode fleet, JsonNode health, Instant now, long nanos) {
        List<String> lines = new ArrayList<>();
        lines.add(title(now));
        lines.add("health " + (health == null ? "?" : health.path("status").asString("?")) + "  ·  workers "
                + fleet.path("ready").asInt() + " ready of " + fleet.path("desired").asInt() + " desired, "
                + fleet.path("actual").asInt() + " running" + rate(fleet.path("traffic"), nanos));
        lines.add("reload " + ReloadReport.describe(fleet.path("reload")));
        lines.add("");
        lastTable = FleetTable.render(fleet).lines().toList();
        lines.addAll(lastTable);
        lines.replaceAll(TerminalText::safe);
        return lines;
    }

    /** A frame for a master that did not answer: the reason, and the table as it was last seen. */
    List<String> unreachable(String reason, Instant now) {
        List<String> lines = new ArrayList<>();
        lines.add(title(now));
        lines.add("master unreachable, retrying: " + TerminalText.safe(reason));
        lines.add(lastTable.isEmpty() ? "" : "as last seen:");
        lines.add("");
        lines.addAll(lastTable);
        return lines;
    }

    private String title(Instant now) {
        return "shepherd top  ·  " + admin + "  ·  " + CLOCK.format(now) + (live ? "  ·  q quits" : "");
    }

    /** "  ·  12.5 requests/s, 0.0 failures/s" since the previous frame; empty without totals or a previous frame. */
    private String rate(JsonNode traffic, long nanos) {
        if (!traffic.path("requests").isNumber()) {
            return "";
        }
        long requests = traffic.path("requests").asLong();
        long failures = traffic.path("failures").asLong();
        double seconds = (nanos - lastNanos) / 1e9;
        String rate = lastRequests < 0 || seconds <= 0 || requests < lastRequests ? ""
                : String.format(Locale.ROOT, "  ·  %.1f requests/s, %.1f failures/s", (requests - lastRequests) / seconds,
                        Math.max(0, failures - lastFailures) / seconds);
        lastRequests = requests;
        lastFailures = failures;
        lastNanos = nanos;
        return rate;
    }
}
