package dev.shepherd;

/** A count with its noun in the number the count takes: "1 worker", "3 workers" ("a fleet of 1 workers" was logged). */
public final class Plural {

    private Plural() {
    }

    /** {@code count} and {@code noun}, with an s unless the count is 1 (Shepherd's nouns take a plain s). */
    public static String of(long count, String noun) {
        return count + " " + (count == 1 ? noun : noun + "s");
    }
}
