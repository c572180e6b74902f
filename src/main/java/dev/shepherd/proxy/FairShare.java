package dev.shepherd.proxy;

/**
 * One look at whether a claim passes its max-min fair share of a bound (water-filling, as a scheduler shares a
 * link): every other client's claim counts up to the {@code level} only, so that a client holding less than the
 * level leaves the rest to the others, and many clients holding a little shrink nobody's share. Fed the other claims
 * one by one ({@link #add}), it tells as soon as the bound is passed, so a caller may stop early: O(clients) at most.
 * Plain arithmetic on bytes, for one thread at a time ({@link BodySpool} makes one per look).
 */
final class FairShare {

    private final long max;
    private final long level;
    private long total;

    /**
     * A look at a bound of {@code max} bytes, with every other claim capped at {@code level} bytes, starting from
     * {@code own}: the bytes of the claim looked at (with any part of it counted already).
     */
    FairShare(long max, long level, long own) {
        this.max = max;
        this.level = level;
        this.total = own;
    }

    /** Adds another client's claim of {@code bytes}, capped at the level; returns whether the bound is passed now. */
    boolean add(long bytes) {
        total += Math.min(bytes, level);
        return passed();
    }

    /** Whether the claims added so far pass the bound. */
    boolean passed() {
        return total > max;
    }
}
