package dev.shepherd.proxy;

import io.netty.channel.embedded.EmbeddedChannel;
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
                    told.add("emptied");
                }
            }, () -> now);

    private ReclaimableConnections.Entry entry(String name) {
        return new ReclaimableConnections.Entry(() -> closed.add(name));
    }

    @Test
    void theOldestEntryIsClosedFirstAndLeavesTheList() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        ReclaimableConnections.Entry c = entry("c");
        list.add(a);
        list.add(b);
        list.add(c);
        assertThat(list.size()).isEqualTo(3);

        assertThat(list.closeOldest()).isTrue();
        assertThat(list.closeOldest()).isTrue();

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
        list.add(a);
        list.add(b);
        list.add(c);
        list.add(a);
        list.remove(b);
        list.remove(b);

        while (list.closeOldest()) {
            // all of them
        }

        assertThat(closed).containsExactly("a", "c");
        assertThat(list.size()).isZero();
        assertThat(list.closeOldest()).as("empty").isFalse();
    }

    @Test
    void anEntryRemovedAndAddedAgainGoesLast() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        list.add(a);
        list.add(b);
        list.remove(a);
        list.add(a);

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
        list.add(a);
        list.add(b);
        assertThat(told).containsExactly("appeared");

        list.remove(a);
        list.closeOldest();
        list.remove(c);
        list.add(b);

        assertThat(told).containsExactly("appeared", "emptied", "appeared");
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
        assertThat(list.fresh()).isTrue();
        assertThat(list.reclaimable()).isFalse();
        assertThat(list.closeOldest()).isFalse();

        now += TimeUnit.MILLISECONDS.toNanos(999);
        list.add(idle);
        assertThat(list.closeOldest()).as("the idle one: the fresh one is too young").isTrue();
        assertThat(closed).containsExactly("idle");
        assertThat(list.reclaimable()).isFalse();

        now += TimeUnit.MILLISECONDS.toNanos(1);
        assertThat(list.reclaimable()).isTrue();
        list.add(entry("later"));
        assertThat(list.closeOldest()).isTrue();

        assertThat(closed).as("oldest first").containsExactly("idle", "fresh");
        assertThat(list.fresh()).isFalse();
    }

    /** Made reclaimable (its first read left the head unfinished), a fresh entry is so at once, in its new place. */
    @Test
    void aFreshEntryAddedBecomesReclaimableAtOnceAndLast() {
        ReclaimableConnections.Entry a = entry("a");
        ReclaimableConnections.Entry b = entry("b");
        list.addFresh(a);
        list.add(b);
        list.add(a);
        assertThat(a.fresh()).isFalse();
        assertThat(list.fresh()).isFalse();

        list.closeOldest();

        assertThat(closed).containsExactly("b");
    }
}
