package dev.shepherd.ctl;

import java.util.List;

/** Which lines of a worker's log tail are new since the previous tail, for {@code logs -f}. */
final class LogTail {

    private LogTail() {
    }

    /**
     * The lines of {@code now} after the last place where it holds the end of {@code before} (all of it, or as much
     * as fits before that place): both are tails of the same log, so what comes after is what was not printed yet.
     * When {@code before} is not found at all, every line of {@code now} is new. Lines compare by equality (the
     * API's pid, time and text); O(n·m) in the two tails' lengths, which {@code logs} bounds.
     */
    static <T> List<T> newLines(List<T> before, List<T> now) {
        if (before.isEmpty()) {
            return now;
        }
        for (int end = now.size(); end > 0; end--) {
            int length = Math.min(end, before.size());
            if (now.subList(end - length, end).equals(before.subList(before.size() - length, before.size()))) {
                return now.subList(end, now.size());
            }
        }
        return now;
    }
}
