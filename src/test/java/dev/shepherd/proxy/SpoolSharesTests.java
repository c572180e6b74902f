package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link SpoolShares}: a client's key is kept only while it holds or waits (the map's bound), and a client gives way
 * to others only while their bodies wait for room and none of its own does.
 */
class SpoolSharesTests {

    private final SpoolShares shares = new SpoolShares(100);

    @Test
    void aClientsKeyIsKeptOnlyWhileItHoldsSomeOrWaitsForRoom() {
        shares.held("a", 10);
        shares.waiting("a", true, 5);
        shares.held("a", -10);
        assertThat(shares.clients()).as("still waiting").isEqualTo(1);

        shares.waiting("a", false, 5);

        assertThat(shares.clients()).isZero();
    }

    @Test
    void aClientPastItsShareGivesWayOnlyWhileAnotherClientsBodyWaitsAndNoneOfItsOwnDoes() {
        shares.held("hog", 90);
        assertThat(shares.yields("hog", 10)).as("nobody waits").isFalse();

        shares.waiting("victim", true, 20);

        assertThat(shares.yields("hog", 10)).as("90 + 10 and the victim's 20 pass the bound").isTrue();
        assertThat(shares.yields("victim", 20)).as("it waits itself: the room is for it").isFalse();
        shares.waiting("hog", true, 10);
        assertThat(shares.yields("hog", 10)).as("a body of its own waits too").isFalse();
    }

    @Test
    void aClientNotKnownIsNeitherKeptNorEverPastItsShare() {
        shares.held(null, 1000);
        shares.waiting(null, true, 10);

        assertThat(shares.clients()).isZero();
        assertThat(shares.pastShare(null, 1000)).isFalse();
        assertThat(shares.yields(null, 1000)).isFalse();
    }
}
