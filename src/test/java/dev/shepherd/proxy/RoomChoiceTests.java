package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link RoomChoice}'s order, on bodies made by hand: a copy first, then a queued body of a client over its fair share,
 * then the slowest body read long enough, then the most-holding client's queued body; what a look that found none
 * says. No spool, no files, no event loop: the bodies' clocks are set.
 */
class RoomChoiceTests {

    private static final long BOUND = 100;
    /** A moment at which a body listed at 0 has been read long enough to be refused by its rate. */
    private static final long LATER = ReclaimableConnections.GRACE_NANOS + TimeUnit.SECONDS.toNanos(1);

    @Test
    void aCopyKeptForARetryGoesFirstTheLargestOfTheClientThatHoldsTheMostNotTheLargestCopy() {
        SpoolHolder slow = reading("a", 40, 1);
        SpoolHolder smallCopy = sent("b", 10);
        SpoolHolder largeCopyOfB = sent("b", 20);
        SpoolHolder largestCopy = sent("c", 25);

        SpoolHolder chosen = choose(List.of(slow, smallCopy, largeCopyOfB, largestCopy), "asker", null, 10, false);

        assertThat(chosen).isSameAs(largeCopyOfB);
    }

    @Test
    void aQueuedBodyOfAClientOverItsFairShareGoesBeforeTheSlowestBodyBeingRead() {
        SpoolHolder largest = queued("hog", 60, 0);
        SpoolHolder smaller = queued("hog", 30, 0);
        SpoolHolder stalled = reading("other", 5, 0);

        assertThat(choose(List.of(smaller, stalled, largest), "asker", null, 20, false)).isSameAs(largest);
        assertThat(choose(List.of(smaller, stalled, largest), "asker", null, 20, true))
                .as("a client past its own share gets no other client's queued body").isSameAs(stalled);
    }

    @Test
    void ofTheBodiesBeingReadTheSlowestLatelyGoesIfItsClientHoldsAsMuchAsTheAskerDoesInOtherBodies() {
        SpoolHolder slowSmall = reading("small", 5, 1);
        SpoolHolder slowerTiny = reading("tiny", 2, 0);
        SpoolHolder fastLarge = reading("large", 40, 1_000_000);
        SpoolHolder askersOther = reading("asker", 4, 1_000_000);
        SpoolHolder asking = reading("asker", 10, 1_000_000);

        SpoolHolder chosen = choose(List.of(slowSmall, slowerTiny, fastLarge, askersOther, asking), "asker", asking, 1,
                false);

        assertThat(chosen).as("tiny's 2 is less than the asker's other 4: not refusable for it").isSameAs(slowSmall);
    }

    @Test
    void whenTheSlowestIsTheAskingBodyAQueuedBodyOfAClientHoldingMoreGoesElseTheAskingOne() {
        SpoolHolder asking = reading("asker", 10, 0);
        SpoolHolder queued = queued("other", 30, 0);
        RoomChoice look = new RoomChoice(1000, LATER);

        assertThat(look.choose(List.of(asking, queued), "asker", asking, 10, false)).isSameAs(queued);

        RoomChoice again = new RoomChoice(1000, LATER);
        assertThat(again.choose(List.of(asking, queued), "asker", asking, 25, false))
                .as("30 is not more than the asker's 10 with 25").isSameAs(asking);
        assertThat(again.foundNone()).as("the asking body was found").isFalse();
    }

    @Test
    void bodiesReadForLessThanTheGraceAreNotChosenAndTheLookFindsNoneRefusable() {
        SpoolHolder young = new SpoolHolder(null, () -> { }, "young", LATER - 1, 0, false);
        young.kept(50);
        RoomChoice look = new RoomChoice(BOUND, LATER);

        assertThat(look.choose(List.of(young), "asker", null, 10, false)).isNull();

        assertThat(look.foundNone()).isTrue();
        assertThat(look.refusable()).isFalse();
    }

    @Test
    void aBodyChosenAlreadyCountsForNothingAndALookThatFindsNoneForTheClientSaysOthersWereRefusable() {
        SpoolHolder chosen = reading("a", 50, 0);
        chosen.claim(new AtomicLong());
        SpoolHolder own = queued("asker", 30, 0);
        RoomChoice look = new RoomChoice(BOUND, LATER);

        assertThat(look.choose(List.of(chosen, own), "asker", null, 10, false)).isNull();

        assertThat(look.foundNone()).isTrue();
        assertThat(look.refusable()).as("its own queued body could go, for another client").isTrue();
    }

    private static SpoolHolder choose(List<SpoolHolder> holders, Object client, SpoolHolder asking, long length,
                                      boolean past) {
        return new RoomChoice(BOUND, LATER).choose(holders, client, asking, length, past);
    }

    /** A body of {@code client} being read since 0, holding {@code kept}, that read {@code read} bytes since. */
    private static SpoolHolder reading(Object client, long kept, long read) {
        SpoolHolder holder = new SpoolHolder(null, () -> { }, client, 0, 0, false);
        holder.kept(kept);
        holder.read(read, LATER);
        return holder;
    }

    /** A whole body of {@code client} holding {@code kept}, queued for its first worker since {@code since}. */
    private static SpoolHolder queued(Object client, long kept, long since) {
        SpoolHolder holder = new SpoolHolder(null, () -> { }, client, 0, kept, true);
        holder.kept(kept);
        holder.queued(true, () -> since);
        return holder;
    }

    /** A whole body of {@code client} holding {@code kept}, written whole to its worker: a copy kept for a retry. */
    private static SpoolHolder sent(Object client, long kept) {
        SpoolHolder holder = new SpoolHolder(null, () -> { }, client, 0, kept, true);
        holder.kept(kept);
        holder.sent(true);
        return holder;
    }
}
