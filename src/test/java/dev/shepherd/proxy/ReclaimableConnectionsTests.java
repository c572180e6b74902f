package dev.shepherd.proxy;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.ImmediateEventExecutor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class ReclaimableConnectionsTests {

    private final List<String> closed = new ArrayList<>();
    private final List<String> told = new ArrayList<>();
    private long now;
    private final ReclaimableConnections list = new ReclaimableConnections(new EmbeddedChannel().eventLoop(),
            new ReclaimableConnections.Listener() {
                @Override
                public void appeared() {
                    told.add("appeared");
                }

                @Override
                public void emptied() {
                    // What a pause decided now would see: a timed entry gets a recheck scheduled.
                    told.add(timedWhenEmptied() ? "emptied, timed listed" : "emptied");
                }
            }, () -> now);

    private boolean timedWhenEmptied() {
        return list.timed();
    }

    private ReclaimableConnections.Entry entry(String name) {
        return new ReclaimableConnections.Entry(() -> closed.add(name), () -> closed.add(name + " refused"),
                ImmediateEventExecutor.INSTANCE.newPromise());
    }

    @Test
    void theOldestEntryIsClosedFirstAndLeavesTheList() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        ReclaimableConnections.Entry c = entry("c");
        list.addHead(a);
        list.addHead(b);
        list.addHead(c);
        assertThat(list.size()).isEqualTo(3);

        assertThat(list.closeOldest()).isNotNull();
        assertThat(list.closeOldest()).isNotNull();

        assertThat(closed).containsExactly("a", "b");
        assertThat(a.listed()).isFalse();
        assertThat(c.listed()).isTrue();
        assertThat(list.size()).isEqualTo(1);
    }

    @Test
    void anEntryAddedAgainKeepsItsPlaceAndOneRemovedIsNeverClosed() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        ReclaimableConnections.Entry c = entry("c");
        list.addHead(a);
        list.addHead(b);
        list.addHead(c);
        list.addHead(a);
        list.remove(b);
        list.remove(b);

        while (list.closeOldest() != null) {
            // all of them
        }

        assertThat(closed).containsExactly("a", "c");
        assertThat(list.size()).isZero();
        assertThat(list.closeOldest()).as("empty").isNull();
    }

    @Test
    void anEntryRemovedAndAddedAgainGoesLast() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        list.addHead(a);
        list.addHead(b);
        list.remove(a);
        list.addHead(a);

        list.closeOldest();

        assertThat(closed).containsExactly("b");
    }

    @Test
    void theListenerHearsWhenTheFirstReclaimableConnectionComesAndTheLastGoes() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        ReclaimableConnections.Entry c = entry("c");
        list.addFresh(c);
        assertThat(told).as("fresh ones are not reclaimable yet").isEmpty();
        list.addHead(a);
        list.addHead(b);
        assertThat(told).containsExactly("appeared");

        list.remove(a);
        list.closeOldest();
        list.remove(c);
        list.addHead(b);

        assertThat(told).as("c, fresh, was listed when b left").containsExactly("appeared", "emptied, timed listed",
                "appeared");
    }

    /**
     * A new connection is spared while the proxy has read nothing from it, for up to a second: its request may be
     * waiting to be read. Then it is reclaimable in the order it came, among the others.
     */
    @Test
    void aFreshEntryIsReclaimableOnlyOnceItHasBeenListedASecond() {
        ReclaimableConnections.Entry fresh = entry("fresh");
        ReclaimableConnections.Entry idle = entry("idle");
        list.addFresh(fresh);
        assertThat(list.timed()).isTrue();
        assertThat(list.reclaimableCount()).isZero();
        assertThat(list.closeOldest()).isNull();

        now += TimeUnit.MILLISECONDS.toNanos(999);
        list.addHead(idle);
        assertThat(list.closeOldest()).as("the idle one: the fresh one is too young").isNotNull();
        assertThat(closed).containsExactly("idle");
        assertThat(list.reclaimableCount()).isZero();

        now += TimeUnit.MILLISECONDS.toNanos(1);
        assertThat(list.reclaimableCount()).isPositive();
        list.addHead(entry("later"));
        assertThat(list.closeOldest()).isNotNull();

        assertThat(closed).as("oldest first").containsExactly("idle", "fresh");
        assertThat(list.timed()).isFalse();
    }

    /**
     * Unfinished heads (and fresh connections past their second) go before idle ones, however long those have been
     * idle: a kept-alive client has sent whole requests, a slowloris never does.
     */
    @Test
    void unfinishedHeadsAreClosedBeforeIdleConnectionsAndThoseBeforeBodies() {
        ReclaimableConnections.Entry body = entry("body");
        ReclaimableConnections.Entry idle = entry("idle");
        ReclaimableConnections.Entry silent = entry("silent");
        ReclaimableConnections.Entry head = entry("head");
        list.addBody(body);
        list.addIdle(idle);
        list.addFresh(silent);
        now += TimeUnit.SECONDS.toNanos(5);
        list.addHead(head);

        while (list.closeOldest() != null) {
            // all of them
        }

        assertThat(closed).containsExactly("silent", "head", "idle", "body refused");
    }

    /** An idle connection whose next head begins moves to the unfinished heads, last. */
    @Test
    void anIdleConnectionWhoseNextHeadBeginsIsAnUnfinishedHeadFromThen() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        list.addIdle(a);
        list.addHead(b);
        list.addHead(a);

        list.closeOldest();

        assertThat(closed).containsExactly("b");
        assertThat(told).as("never empty in between").containsExactly("appeared");
    }

    /**
     * With no idle connection or unfinished head, the body that came slowest on average is refused, once it has been
     * read a second: a body that has just begun has no rate yet.
     */
    @Test
    void withNothingIdleTheSlowestBodyReadASecondIsRefused() {
        ReclaimableConnections.Entry slow = entry("slow");
        ReclaimableConnections.Entry fast = entry("fast");
        ReclaimableConnections.Entry young = entry("young");
        list.addBody(slow);
        list.addBody(fast);
        slow.bodyRead(240);
        fast.bodyRead(1_000_000);
        assertThat(list.reclaimableCount()).isZero();
        assertThat(list.closeOldest()).as("in their first second").isNull();

        now += TimeUnit.SECONDS.toNanos(2);
        list.addBody(young);
        assertThat(list.reclaimableCount()).isPositive();
        ReclaimableConnections.Entry idle = entry("idle");
        list.addIdle(idle);
        assertThat(list.closeOldest()).isNotNull();
        assertThat(closed).as("an idle connection first").containsExactly("idle");

        assertThat(list.closeOldest()).isNotNull();
        assertThat(closed).containsExactly("idle", "slow refused");
        assertThat(list.closeOldest()).isNotNull();
        assertThat(closed).as("the young body waits for its second").containsExactly("idle", "slow refused", "fast refused");
        assertThat(list.closeOldest()).isNull();
        assertThat(list.timed()).isTrue();
    }

    /** A body counted again from nothing when the connection goes from a head to its body. */
    @Test
    void aHeadThatBecomesABodyLeavesTheIdleLineAndTellsTheListener() {
        ReclaimableConnections.Entry a = entry("a");
        list.addHead(a);
        list.addBody(a);

        // Told after the body is listed (a reviewing helper's): told before, the pause it led to set no recheck.
        assertThat(told).containsExactly("appeared", "emptied, timed listed");
        assertThat(list.size()).isEqualTo(1);
        list.remove(a);
        assertThat(list.size()).isZero();
        assertThat(list.timed()).isFalse();
    }

    /** Made reclaimable (its first read left the head unfinished), a fresh entry is so at once, in its new place. */
    @Test
    void aFreshEntryAddedBecomesReclaimableAtOnceAndLast() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        list.addFresh(a);
        list.addHead(b);
        list.addHead(a);
        assertThat(a.fresh(list)).isFalse();
        assertThat(list.timed()).isFalse();

        list.closeOldest();

        assertThat(closed).containsExactly("b");
    }
}
