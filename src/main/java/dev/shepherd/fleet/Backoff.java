package dev.shepherd.fleet;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;

/**
 * Restart delays of one worker: exponential over quick crashes in a row, reset by a long enough uptime; and the
 * crash-loop rule, counted over a sliding window of restarts (not by uptime per run).
 */
final class Backoff {

    /** The delay before the next start, and whether the worker is now crash-looping. */
    record Decision(Duration delay, boolean crashLoop) {
    }

    private final FleetProperties.Restart config;
    private final ArrayDeque<Instant> restarts = new ArrayDeque<>();
    private int quickCrashesInARow;

    Backoff(FleetProperties.Restart config) {
        this.config = config;
    }

    Decision next(Duration uptime, Instant now) {
        if (uptime.compareTo(config.resetAfter()) >= 0) {
            quickCrashesInARow = 0;
        }
        restarts.addLast(now);
        Instant windowStart = now.minus(config.crashLoopWindow());
        while (!restarts.isEmpty() && restarts.peekFirst().isBefore(windowStart)) {
            restarts.removeFirst();
        }
        boolean crashLoop = restarts.size() > config.crashLoopRestarts();
        Duration delay = crashLoop ? config.maxBackoff() : delayFor(quickCrashesInARow);
        quickCrashesInARow++;
        return new Decision(delay, crashLoop);
    }

    private Duration delayFor(int quickCrashes) {
        double millis = config.initialBackoff().toMillis() * Math.pow(config.multiplier(), Math.min(quickCrashes, 62));
        long max = config.maxBackoff().toMillis();
        return Duration.ofMillis(millis >= max ? max : (long) millis);
    }
}
