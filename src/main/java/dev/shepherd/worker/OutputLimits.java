package dev.shepherd.worker;

import java.time.Duration;

/**
 * What a worker process's output may cost the master.
 *
 * @param maxLineBytes longest line kept whole (UTF-8 bytes); a longer one is cut ({@link LineCutter})
 * @param logRateLimitInterval with {@code logRateLimitBurst}: at most that many lines of one worker id go into the
 *                             master's log per interval ({@link LogRateLimit}); zero: no limit
 * @param logRateLimitBurst lines per interval (a line counts once per started {@value LogRateLimit#UNIT}
 *                          characters); zero: no limit
 * @param outputMaxRate the most bytes of output read per second ({@link OutputBudget}); zero: no limit
 */
public record OutputLimits(int maxLineBytes, Duration logRateLimitInterval, int logRateLimitBurst, long outputMaxRate) {

    public OutputLimits {
        new LogRateLimit.Rule(logRateLimitInterval, logRateLimitBurst); // throws for negative values
        if (outputMaxRate != 0) {
            new OutputBudget(outputMaxRate, System::nanoTime); // throws for a rate out of range
        }
    }

    /** The reading budget of one process's output; null when there is no limit. */
    OutputBudget budget() {
        return outputMaxRate == 0 ? null : new OutputBudget(outputMaxRate, System::nanoTime);
    }


    LogRateLimit.Rule rateLimit() {
        return new LogRateLimit.Rule(logRateLimitInterval, logRateLimitBurst);
    }
}
