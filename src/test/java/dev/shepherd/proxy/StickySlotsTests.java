package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.TestEndpoints;
import org.junit.jupiter.api.Test;

import static dev.shepherd.fleet.TestEndpoints.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

/** {@link StickySlots}: which worker of a slot takes a sticky request, without a proxy. */
class StickySlotsTests {

    @Test
    void theSlotsReadyWorkerIsPickedAndCountedIn() {
        Endpoint zero = TestEndpoints.accepting(1, 0, 0);
        Endpoint one = TestEndpoints.accepting(2, 1, 0);
        Endpoint picked = StickySlots.pick(snapshot(new Endpoint[] {zero, one}), 1, false, false);
        assertThat(picked).isSameAs(one);
        assertThat(one.inFlight()).isEqualTo(1);
        assertThat(zero.inFlight()).isZero();
    }

    @Test
    void aSlotWithoutAWorkerThatTakesTheRequestFallsBackToBalancing() {
        Endpoint zero = TestEndpoints.accepting(1, 0, 0);
        Endpoint one = TestEndpoints.accepting(2, 1, 1);
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {zero}), 1, false, false)).isNull();
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {zero, one}), StickySessions.UNKNOWN, false, false)).isNull();
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {zero, one}), StickySessions.NO_COOKIE, false, false)).isNull();
        TestEndpoints.stopAccepting(zero);
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {zero, one}), 0, false, false)).as("stopping").isNull();
        assertThat(one.tryAcquire()).isTrue();
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {zero, one}), 1, false, false)).as("full").isNull();
    }

    @Test
    void aStickyRequestDoesNotGoPastQueuedRequestsToAReadyWorker() {
        Endpoint zero = TestEndpoints.accepting(1, 0, 0);
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {zero}), 0, true, false)).isNull();
        assertThat(zero.inFlight()).isZero();
    }

    @Test
    void whileAReloadHasTwoWorkersOnASlotTheNewestTakesIt() {
        Endpoint old = TestEndpoints.accepting(1, 0, 0);
        Endpoint replacement = TestEndpoints.accepting(3, 0, 0);
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {old, replacement}), 0, false, false)).isSameAs(replacement);
    }

    @Test
    void aDrainingWorkerKeepsItsSlotsRequestsWhileNoReadyWorkerHasTheSlot() {
        Endpoint other = TestEndpoints.accepting(2, 1, 0);
        Endpoint draining = TestEndpoints.accepting(1, 0, 0);
        TestEndpoints.startDraining(draining);
        assertThat(draining.tryAcquire()).as("no new requests").isFalse();
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {other}, draining), 0, true, false)).isSameAs(draining);
        assertThat(draining.inFlight()).isEqualTo(1);
    }

    @Test
    void aSlotKeepsItsSessionsWhileItsWorkerIsFullOrDrainingAndGivesThemUpWhenItStops() {
        Endpoint full = TestEndpoints.accepting(1, 0, 1);
        Endpoint draining = TestEndpoints.accepting(2, 1, 0);
        TestEndpoints.startDraining(draining);
        assertThat(full.tryAcquire()).isTrue();
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}, draining), 0, false)).as("full").isTrue();
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}, draining), 1, false)).as("draining").isTrue();
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}, draining), 0, true)).as("full, upgrade").isTrue();
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}, draining), 1, true))
                .as("a handshake does not wait for a draining worker").isFalse();
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}, draining), 2, false)).as("no worker").isFalse();
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}), StickySessions.UNKNOWN, false)).isFalse();
        TestEndpoints.stopAccepting(full);
        TestEndpoints.stopAccepting(draining);
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}, draining), 0, false)).as("stopping").isFalse();
        assertThat(StickySlots.keeps(snapshot(new Endpoint[] {full}, draining), 1, false)).as("stopped").isFalse();
    }

    @Test
    void aWebSocketHandshakeDoesNotGoToADrainingWorker() {
        Endpoint draining = TestEndpoints.accepting(1, 0, 0);
        TestEndpoints.startDraining(draining);
        assertThat(StickySlots.pick(snapshot(new Endpoint[0], draining), 0, false, true)).isNull();
        assertThat(draining.inFlight()).isZero();
    }

    @Test
    void aDrainStartedAfterTheSnapshotStillKeepsTheSlotsRequests() {
        Endpoint draining = TestEndpoints.accepting(1, 0, 0);
        Endpoint other = TestEndpoints.accepting(2, 1, 0);
        TestEndpoints.startDraining(draining);
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {draining, other}), 0, false, false)).isSameAs(draining);
    }

    @Test
    void theSlotsReadyReplacementWinsOverItsDrainingPredecessor() {
        Endpoint old = TestEndpoints.accepting(1, 0, 0);
        Endpoint replacement = TestEndpoints.accepting(3, 0, 0);
        TestEndpoints.startDraining(old);
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {replacement}, old), 0, false, false)).isSameAs(replacement);
        assertThat(old.inFlight()).isZero();
    }

    @Test
    void aFullReadyReplacementSendsTheRequestToBalancingNotToTheDrainingWorker() {
        Endpoint old = TestEndpoints.accepting(1, 0, 0);
        Endpoint replacement = TestEndpoints.accepting(3, 0, 1);
        TestEndpoints.startDraining(old);
        assertThat(replacement.tryAcquire()).isTrue();
        assertThat(StickySlots.pick(snapshot(new Endpoint[] {replacement}, old), 0, false, false)).isNull();
        assertThat(old.inFlight()).isZero();
    }

    @Test
    void onceItsDrainFindsNothingInFlightADrainingWorkerTakesNoMoreStickyRequests() {
        Endpoint draining = TestEndpoints.accepting(1, 0, 0);
        TestEndpoints.startDraining(draining);
        assertThat(StickySlots.pick(snapshot(new Endpoint[0], draining), 0, false, false)).isSameAs(draining);
        assertThat(TestEndpoints.drained(draining)).as("one in flight").isFalse();
        draining.release(true);
        assertThat(TestEndpoints.drained(draining)).isTrue();
        assertThat(StickySlots.pick(snapshot(new Endpoint[0], draining), 0, false, false)).isNull();
        assertThat(draining.isDraining()).isFalse();
    }

    @Test
    void aStoppedWorkerTakesNoStickyRequests() {
        Endpoint draining = TestEndpoints.accepting(1, 0, 0);
        TestEndpoints.startDraining(draining);
        TestEndpoints.stopAccepting(draining);
        assertThat(StickySlots.pick(snapshot(new Endpoint[0], draining), 0, false, false)).isNull();
        assertThat(draining.inFlight()).isZero();
    }

    /** An outlier is back after its ejection time: its sessions, served elsewhere meanwhile, return to it then. */
    @Test
    void aSessionStaysBoundToASlotWhoseWorkerIsOutOnlyAsAnOutlier() {
        Endpoint ejected = TestEndpoints.accepting(1, 0, 0);
        Endpoint other = TestEndpoints.accepting(2, 1, 0);
        TestEndpoints.ejectAsOutlier(ejected);
        dev.shepherd.fleet.FleetSnapshot withIt = TestEndpoints.snapshotWithReadyOutOfRotation(new Endpoint[] {other}, ejected);

        assertThat(StickySlots.keeps(withIt, 0, false)).as("its requests go elsewhere meanwhile").isFalse();
        assertThat(StickySlots.keepsBinding(withIt, 0)).isTrue();

        TestEndpoints.startAccepting(ejected);
        TestEndpoints.stopAccepting(ejected);
        assertThat(StickySlots.keepsBinding(withIt, 0)).as("stopped: no longer an outlier").isFalse();
    }
}
