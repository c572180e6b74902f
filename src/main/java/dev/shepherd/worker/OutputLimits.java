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
 */
public record OutputLimits(int maxLineBytes, Duration logRateLimitInterval, int logRateLimitBurst) {

    public OutputLimits {
        new LogRateLimit.Rule(logRateLimitInterval, logRateLimitBurst); // throws for negative values
    }


    LogRateLimit.Rule rateLimit() {
        return new LogRateLimit.Rule(logRateLimitInterval, logRateLimitBurst);
    }
}
