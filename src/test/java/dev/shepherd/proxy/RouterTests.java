package dev.shepherd.proxy;

import dev.shepherd.fleet.Balancer;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.TestEndpoints;
import dev.shepherd.fleet.WorkerFleetService;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

class RouterTests {

    private final WorkerFleetService fleet = mock(WorkerFleetService.class);
    private final FleetSnapshot snapshot = mock(FleetSnapshot.class);
    private Router router;
    private Consumer<FleetSnapshot> snapshotListener;

    @BeforeEach
    @SuppressWarnings("unchecked")
    void wireRouterToAFakeFleet() {
        when(fleet.snapshot()).thenReturn(snapshot);
        when(snapshot.ready()).thenReturn(new Endpoint[0]);
        router = new Router(fleet, 2, Balancer.ROUND_ROBIN);
        ArgumentCaptor<Consumer<FleetSnapshot>> listener = ArgumentCaptor.forClass(Consumer.class);
        verify(fleet).onSnapshot(listener.capture());
        snapshotListener = listener.getValue();
    }

    @Test
    void indexIsNeverNegativeAndInRangeWhenTheCounterWraps() {
        for (int count = 1; count <= 7; count++) {
            int counter = Integer.MAX_VALUE - 2;
            for (int step = 0; step < 6; step++, counter++) {
                assertThat(WorkerChoice.index(counter, count)).as("counter %d, count %d", counter, count)
                        .isBetween(0, count - 1);
            }
            assertThat(counter).isEqualTo(Integer.MIN_VALUE + 3);
        }
    }

    @Test
    void indexGoesRoundRobin() {
        List<Integer> order = new ArrayList<>();
        for (int counter = 0; counter < 7; counter++) {
            order.add(WorkerChoice.index(counter, 3));
        }
        assertThat(order).containsExactly(0, 1, 2, 0, 1, 2, 0);
    }

    @Test
    void indexStaysRoundRobinJustAfterTheWrap() {
        List<Integer> order = new ArrayList<>();
        for (int counter = Integer.MIN_VALUE; counter < Integer.MIN_VALUE + 4; counter++) {
            order.add(WorkerChoice.index(counter, 3));
        }
        assertThat(order).containsExactly(0, 1, 2, 0);
    }

    @Test
    void pickGoesRoundRobinOverTheReadyWorkers() {
        Endpoint a = endpoint(true);
        Endpoint b = endpoint(true);
        Endpoint c = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {a, b, c});

        List<Endpoint> picks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            picks.add(router.pick(null));
        }

        assertThat(picks).containsExactly(a, b, c, a, b, c);
    }

    @Test
    void pickIsNullWhenNoWorkerIsReady() {
        assertThat(router.pick(null)).isNull();
    }

    @Test
    void pickSkipsAWorkerThatNoLongerAcceptsTraffic() {
        Endpoint draining = endpoint(false);
        Endpoint ready = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {draining, ready});

        assertThat(router.pick(null)).isSameAs(ready);
        assertThat(router.pick(null)).isSameAs(ready);
    }

    @Test
    void pickAvoidsTheWorkerThatJustFailedWhenAnotherIsReady() {
        Endpoint failed = endpoint(true);
        Endpoint other = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {failed, other});

        for (int i = 0; i < 4; i++) {
            assertThat(router.pick(failed)).isSameAs(other);
        }
    }

    @Test
    void pickFallsBackToTheWorkerThatFailedWhenItIsTheOnlyOne() {
        Endpoint only = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {only});

        assertThat(router.pick(only)).isSameAs(only);
    }

    @Test
    void pickUntriedSkipsEveryWorkerThatFailedTheRequest() {
        Endpoint a = endpoint(true);
        Endpoint b = endpoint(true);
        Endpoint c = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {a, b, c});

        for (int i = 0; i < 4; i++) {
            assertThat(router.pickUntried(List.of(a, c))).isSameAs(b);
        }
        assertThat(router.pickUntried(List.of(a, b, c))).as("every READY worker failed it").isNull();
    }

    @Test
    void hasReadyCountsOnlyWorkersThatStillAcceptTraffic() {
        Endpoint ejected = endpoint(false);
        when(snapshot.ready()).thenReturn(new Endpoint[] {ejected});
        assertThat(router.hasReady()).isFalse();

        Endpoint accepting = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {ejected, accepting});
        assertThat(router.hasReady()).isTrue();
    }

    @Test
    void changeWaitersAreCalledOnceAtTheNextSnapshotWhateverItHolds() {
        AtomicInteger changed = new AtomicInteger();
        Router.Waiter waiter = router.awaitChange(0, changed::incrementAndGet);
        Router.Waiter cancelled = router.awaitChange(0, changed::incrementAndGet);
        assertThat(router.cancelChange(cancelled)).isTrue();

        snapshotListener.accept(snapshot);
        snapshotListener.accept(snapshot);

        assertThat(changed).as("once, and not the cancelled one").hasValue(1);
        assertThat(router.cancelChange(waiter)).as("a called waiter cannot also time out").isFalse();
        assertThat(router.waiting()).as("change waiters use no place in the queue").isZero();
    }

    @Test
    void changeWaiterIsCalledAtOnceWhenASnapshotCameOutSinceTheVersionItSaw() {
        when(snapshot.version()).thenReturn(8L);
        AtomicInteger changed = new AtomicInteger();

        Router.Waiter waiter = router.awaitChange(7, changed::incrementAndGet);
        snapshotListener.accept(snapshot);

        assertThat(changed).as("once, at once, not again at the next snapshot").hasValue(1);
        assertThat(router.cancelChange(waiter)).isFalse();
    }

    @Test
    void waitersAreNotWokenWhileEveryReadyWorkerIsOutOfRotation() {
        AtomicInteger woken = new AtomicInteger();
        router.await(-1, false, 0, false, woken::incrementAndGet);
        Endpoint ejected = endpoint(false);
        when(snapshot.ready()).thenReturn(new Endpoint[] {ejected});

        snapshotListener.accept(snapshot);
        router.await(-1, false, 0, false, woken::incrementAndGet);

        assertThat(woken).hasValue(0);
        assertThat(router.waiting()).isEqualTo(2);
    }

    @Test
    void waitersBeyondTheQueueLimitAreTurnedAway() {
        assertThat(router.await(-1, false, 0, false, () -> { })).isNotNull();
        assertThat(router.await(-1, false, 0, false, () -> { })).isNotNull();
        assertThat(router.await(-1, false, 0, false, () -> { })).isNull();
        assertThat(router.waiting()).isEqualTo(2);
    }

    @Test
    void waitersAreWokenOnceASnapshotHasAReadyWorker() {
        AtomicInteger woken = new AtomicInteger();
        Router.Waiter waiter = router.await(-1, false, 0, false, woken::incrementAndGet);
        router.await(-1, false, 0, false, woken::incrementAndGet);

        Endpoint ready = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {ready});
        snapshotListener.accept(snapshot);

        assertThat(woken).hasValue(2);
        assertThat(router.waiting()).isZero();
        assertThat(router.cancel(waiter)).as("a woken waiter cannot also time out").isFalse();
    }

    @Test
    void snapshotWithoutReadyWorkersWakesNobody() {
        AtomicInteger woken = new AtomicInteger();
        router.await(-1, false, 0, false, woken::incrementAndGet);

        snapshotListener.accept(snapshot);

        assertThat(woken).hasValue(0);
        assertThat(router.waiting()).isEqualTo(1);
    }

    @Test
    void cancelledWaiterIsNeverWokenAndFreesItsPlace() {
        AtomicInteger woken = new AtomicInteger();
        Router.Waiter waiter = router.await(-1, false, 0, false, woken::incrementAndGet);

        assertThat(router.cancel(waiter)).isTrue();
        Endpoint ready = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {ready});
        snapshotListener.accept(snapshot);

        assertThat(woken).hasValue(0);
        assertThat(router.waiting()).isZero();
    }

    @Test
    void waiterIsWokenAtOnceWhenAWorkerIsAlreadyReady() {
        Endpoint ready = endpoint(true);
        when(snapshot.ready()).thenReturn(new Endpoint[] {ready});
        AtomicInteger woken = new AtomicInteger();

        router.await(-1, false, 0, false, woken::incrementAndGet);

        assertThat(woken).hasValue(1);
    }

    @Test
    void closeStopsListeningToTheFleet() {
        router.close();

        verify(fleet).removeSnapshotListener(snapshotListener);
        verify(fleet).removeSlotListener(any(Runnable.class));
    }

    @Test
    void balancingOverASnapshotPublishedBeforeADrainNeverCountsARequestInOnTheDrainingWorker() {
        // The snapshot still lists the draining worker as READY. A request counted in on it and taken back would make
        // a sticky request find it full for nothing; both balancers skip it before counting.
        for (Balancer balancer : Balancer.values()) {
            AtomicInteger freed = new AtomicInteger();
            Endpoint draining = TestEndpoints.accepting(1, 0, 1, freed::incrementAndGet);
            Endpoint ready = TestEndpoints.accepting(2, 1, 0);
            TestEndpoints.startDraining(draining);
            when(snapshot.ready()).thenReturn(new Endpoint[] {draining, ready});
            Router balancing = new Router(fleet, 2, balancer);

            for (int i = 0; i < 20; i++) {
                Endpoint picked = balancing.pick(null);
                assertThat(picked).as(balancer.name()).isSameAs(ready);
                picked.release(true);
            }

            assertThat(freed).as("%s: counts taken back on the draining worker", balancer).hasValue(0);
            assertThat(draining.tryAcquireSticky()).as("its sticky request").isTrue();
        }
    }

    @Test
    void aRetryFallingBackToTheWorkerThatFailedItCountsNothingInOnceThatWorkerDrains() {
        AtomicInteger freed = new AtomicInteger();
        Endpoint failed = TestEndpoints.accepting(1, 0, 1, freed::incrementAndGet);
        when(snapshot.ready()).thenReturn(new Endpoint[] {failed});
        TestEndpoints.startDraining(failed);

        assertThat(router.pick(failed)).as("out of rotation").isNull();

        assertThat(freed).as("no count taken back, so no wake-up").hasValue(0);
        assertThat(failed.inFlight()).isZero();
    }

    @Test
    void leastRequestGivesEveryRequestToTheLessBusyOfTwoWorkers() {
        Router leastRequest = new Router(fleet, 2, Balancer.LEAST_REQUEST);
        Endpoint busy = endpoint(true, 5);
        Endpoint idle = endpoint(true, 0);
        when(snapshot.ready()).thenReturn(new Endpoint[] {busy, idle});

        for (int i = 0; i < 20; i++) {
            assertThat(leastRequest.pick(null)).isSameAs(idle);
        }
    }

    @Test
    void leastRequestGoesRoundRobinWhileWorkersAreEquallyBusy() {
        Router leastRequest = new Router(fleet, 2, Balancer.LEAST_REQUEST);
        Endpoint a = endpoint(true, 1);
        Endpoint b = endpoint(true, 1);
        Endpoint c = endpoint(true, 1);
        when(snapshot.ready()).thenReturn(new Endpoint[] {a, b, c});

        List<Endpoint> picks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            picks.add(leastRequest.pick(null));
        }

        assertThat(picks).containsExactly(a, b, c, a, b, c);
    }

    @Test
    void leastRequestNeverPicksTheBusiestWorkerAndPicksTheIdlestAsOftenAsTwoRandomChoicesShould() {
        Router leastRequest = new Router(fleet, 2, Balancer.LEAST_REQUEST);
        Endpoint[] ready = {endpoint(true, 0), endpoint(true, 1), endpoint(true, 2), endpoint(true, 3)};
        when(snapshot.ready()).thenReturn(ready);
        Map<Endpoint, Integer> picks = new HashMap<>();

        int total = 12_000;
        for (int i = 0; i < total; i++) {
            picks.merge(leastRequest.pick(null), 1, Integer::sum);
        }

        // Of the six pairs of two distinct workers, the idlest is in three, the next in two of the others.
        assertThat(picks.getOrDefault(ready[3], 0)).as("the busiest worker").isZero();
        assertThat(picks.get(ready[0])).as("the idlest worker: 1/2").isBetween(total * 45 / 100, total * 55 / 100);
        assertThat(picks.get(ready[1])).as("the next: 1/3").isBetween(total * 28 / 100, total * 38 / 100);
        assertThat(picks.get(ready[2])).as("the third: 1/6").isBetween(total * 12 / 100, total * 21 / 100);
    }

    @Test
    void leastRequestWithASingleWorkerPicksIt() {
        Router leastRequest = new Router(fleet, 2, Balancer.LEAST_REQUEST);
        Endpoint only = endpoint(true, 7);
        when(snapshot.ready()).thenReturn(new Endpoint[] {only});

        assertThat(leastRequest.pick(null)).isSameAs(only);
        assertThat(leastRequest.pick(only)).as("the one that failed, when it is the only one").isSameAs(only);
    }

    @Test
    void leastRequestTakesTheOtherCandidateOrAnyWorkerWhenTheLessBusyCannotTakeTheRequest() {
        Router leastRequest = new Router(fleet, 2, Balancer.LEAST_REQUEST);
        Endpoint idleButDraining = endpoint(false, 0);
        Endpoint busy = endpoint(true, 4);
        when(snapshot.ready()).thenReturn(new Endpoint[] {idleButDraining, busy});
        assertThat(leastRequest.pick(null)).isSameAs(busy);

        Endpoint refusing = endpoint(false, 0);
        Endpoint alsoRefusing = endpoint(false, 0);
        Endpoint accepting = endpoint(true, 9);
        when(snapshot.ready()).thenReturn(new Endpoint[] {refusing, alsoRefusing, accepting});
        for (int i = 0; i < 20; i++) {
            assertThat(leastRequest.pick(null)).isSameAs(accepting);
        }
    }

    @Test
    void leastRequestRetriesAvoidTheWorkersThatFailed() {
        Router leastRequest = new Router(fleet, 2, Balancer.LEAST_REQUEST);
        Endpoint failedIdle = endpoint(true, 0);
        Endpoint other = endpoint(true, 3);
        Endpoint third = endpoint(true, 6);
        when(snapshot.ready()).thenReturn(new Endpoint[] {failedIdle, other, third});

        for (int i = 0; i < 20; i++) {
            assertThat(leastRequest.pick(failedIdle)).isIn(other, third);
            assertThat(leastRequest.pickUntried(List.of(failedIdle, other))).isSameAs(third);
        }
        assertThat(leastRequest.pickUntried(List.of(failedIdle, other, third))).isNull();
    }

    private static Endpoint endpoint(boolean accepting) {
        return endpoint(accepting, 0);
    }

    private static Endpoint endpoint(boolean accepting, int inFlight) {
        Endpoint endpoint = mock(Endpoint.class);
        when(endpoint.tryAcquire()).thenReturn(accepting);
        when(endpoint.isAccepting()).thenReturn(accepting);
        when(endpoint.inFlight()).thenReturn(inFlight);
        return endpoint;
    }
}
