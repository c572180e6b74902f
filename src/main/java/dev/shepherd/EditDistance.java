package dev.shepherd;

/**
 * How far apart two names are, for "did you mean" (of a setting at startup, of a command on the command line).
 * Stateless.
 */
public final class EditDistance {

    private EditDistance() {
    }

    /**
     * The optimal string alignment distance (Damerau's): the fewest single-character insertions, deletions,
     * substitutions and swaps of two adjacent characters from a to b, no character edited twice. A swap counts one,
     * as the typo it is: {@code sacle} is one from {@code scale}, where Levenshtein's two put it as far as
     * {@code bogus} from {@code logs} (found by a new user).
     */
    public static int between(String a, String b) {
        int[] beforePrevious = new int[b.length() + 1];
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                int distance = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    distance = Math.min(distance, beforePrevious[j - 2] + 1);
                }
                current[j] = distance;
            }
            int[] swap = beforePrevious;
            beforePrevious = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
