package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link FairShare}: max-min fair shares of a bound, as {@link BodySpool} keeps its clients to them. */
class FairShareTests {

    private static final long BOUND = 100;

    /** Feeds {@code others} to a look until the bound is passed; returns whether it was. */
    private static boolean passes(long level, long own, long... others) {
        FairShare look = new FairShare(BOUND, level, own);
        for (long other : others) {
            if (look.add(other)) {
                return true;
            }
        }
        return look.passed();
    }

    @Test
    void manyClientsHoldingALittleShrinkNobodysShare() {
        // Twenty clients of 3 bytes each take 60 of 100: a claim of 40 fits, as the bound divided by 21 would not.
        long[] trickles = new long[20];
        java.util.Arrays.fill(trickles, 3);
        assertThat(passes(40, 40, trickles)).isFalse();
        assertThat(passes(41, 41, trickles)).isTrue();
    }

    @Test
    void anotherClaimCountsUpToTheLevelOnly() {
        // Two claims of 50 fill the bound exactly; a larger other one counts as 50 too.
        assertThat(passes(50, 50, 50)).isFalse();
        assertThat(passes(50, 50, 1_000)).isFalse();
        assertThat(passes(51, 51, 1_000)).isTrue();
    }

    @Test
    void aClaimAloneIsHeldToTheBoundOnly() {
        assertThat(passes(100, 100)).isFalse();
        assertThat(passes(101, 101)).isTrue();
    }

    @Test
    void theLookTellsAsSoonAsTheBoundIsPassed() {
        FairShare look = new FairShare(BOUND, 40, 40);
        assertThat(look.add(40)).isFalse();
        assertThat(look.add(40)).isTrue();
        assertThat(look.passed()).isTrue();
    }
}
