package dev.shepherd.fleet;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;

/**
 * Restart delays of one worker, and the crash-loop rule.
 *
 * <p>A process that became READY and stayed READY for at least {@code min-uptime} ran, then died: it is not
 * crash-looping (PM2's {@code min_uptime}, Kubernetes' CrashLoopBackOff tell "cannot start" from "ran, then died"
 * the same way). It is restarted after the initial delay, its exit is not counted in the crash-loop window, and
 * the count of quick crashes and the window start over. Any other exit is a quick crash: the delay grows
 * exponentially over quick crashes in a row (reset by an uptime of {@code reset-after}), and more than
 * {@code crash-loop-restarts} of them within {@code crash-loop-window} is a crash loop, retried at the longest delay.
 * Confined to the supervisor's thread.
 */
final class Backoff {

    /** The delay before the next start, and whether the worker is now crash-looping. */
    record Decision(Duration delay, boolean crashLoop) {
    }

    private final FleetProperties.Restart config;
    /** Quick crashes within the window, oldest first; never more than one past the crash-loop count. */
    private final ArrayDeque<Instant> restarts = new ArrayDeque<>();
    private int quickCrashesInARow;

    Backoff(FleetProperties.Restart config) {
        this.config = config;
    }

    /** Whether a process that was READY for {@code readyFor} (null: never READY) ran long enough to count as started. */
    boolean ranStably(Duration readyFor) {
        return readyFor != null && readyFor.compareTo(config.minUptime()) >= 0;
    }

    /**
     * The restart after a process that ran {@code uptime} in all and was READY for {@code readyFor} of it (null
     * when it never became READY), exiting at {@code now}.
     */
    Decision next(Duration uptime, Duration readyFor, Instant now) {
        if (ranStably(readyFor)) {
            quickCrashesInARow = 0;
            restarts.clear();
            return new Decision(config.initialBackoff(), false);
        }
        if (uptime.compareTo(config.resetAfter()) >= 0) {
            quickCrashesInARow = 0;
        }
        restarts.addLast(now);
        Instant windowStart = now.minus(config.crashLoopWindow());
        while (!restarts.isEmpty() && restarts.peekFirst().isBefore(windowStart)
                || restarts.size() > config.crashLoopRestarts() + 1) {
            restarts.removeFirst();
        }
        boolean crashLoop = restarts.size() > config.crashLoopRestarts();
        Duration delay = crashLoop ? config.maxBackoff() : delayFor(quickCrashesInARow);
        quickCrashesInARow++;
        return new Decision(delay, crashLoop);
    }

    /**
     * The restart after an exit that is no crash of the worker's own (the signal an operator sent it): after the
     * initial delay, and neither counted in the crash-loop window nor in the quick crashes in a row.
     */
    Decision notCounted() {
        return new Decision(config.initialBackoff(), false);
    }

    /** The restart after a process that never became READY. */
    Decision next(Duration uptime, Instant now) {
        return next(uptime, null, now);
    }

    private Duration delayFor(int quickCrashes) {
        double millis = config.initialBackoff().toMillis() * Math.pow(config.multiplier(), Math.min(quickCrashes, 62));
        long max = config.maxBackoff().toMillis();
        return Duration.ofMillis(millis >= max ? max : (long) millis);
    }
}
