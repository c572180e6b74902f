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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

/**
 * The wait queue with real endpoints at {@code fleet.worker.max-concurrency}: a freed slot goes to the oldest waiter
 * and to nobody else, counted in before the waiter is woken; cancelled and abandoned waiters are skipped.
 */
class RouterQueueTests {

    private final WorkerFleetService fleet = mock(WorkerFleetService.class);
    private final FleetSnapshot snapshot = mock(FleetSnapshot.class);
    private final List<String> woken = new CopyOnWriteArrayList<>();
    private Router router;
    private Consumer<FleetSnapshot> snapshotListener;
    private Runnable slotListener;

    @BeforeEach
    @SuppressWarnings("unchecked")
    void wireRouterToAFakeFleet() {
        when(fleet.snapshot()).thenReturn(snapshot);
        when(snapshot.ready()).thenReturn(new Endpoint[0]);
        router = new Router(fleet, 3, Balancer.LEAST_REQUEST);
        ArgumentCaptor<Consumer<FleetSnapshot>> listener = ArgumentCaptor.forClass(Consumer.class);
        verify(fleet).onSnapshot(listener.capture());
        snapshotListener = listener.getValue();
        ArgumentCaptor<Runnable> slots = ArgumentCaptor.forClass(Runnable.class);
        verify(fleet).onSlotFreed(slots.capture());
        slotListener = slots.getValue();
    }

    @Test
    void requestsBeyondTheLimitWaitAndEachFreedSlotGoesToTheOldestWaiter() {
        Endpoint worker = ready(1);
        assertThat(router.pick(null)).isSameAs(worker);
        assertThat(router.pick(null)).as("the worker is full").isNull();
        Router.Waiter first = await("first");
        Router.Waiter second = await("second");
        assertThat(woken).isEmpty();

        worker.release(true);

        assertThat(woken).containsExactly("first");
        assertThat(first.takeGrant()).as("counted in for the first waiter").isSameAs(worker);
        assertThat(first.takeGrant()).as("taken once").isNull();
        assertThat(worker.inFlight()).isEqualTo(1);
        assertThat(router.waiting()).isEqualTo(1);

        worker.release(true);

        assertThat(woken).containsExactly("first", "second");
        assertThat(second.takeGrant()).isSameAs(worker);
        assertThat(router.waiting()).isZero();
        assertThat(router.cancel(second)).as("a granted waiter cannot also time out").isFalse();
    }

    @Test
    void waiterIsGrantedAtOnceWhenAWorkerHasAFreeSlot() {
        Endpoint worker = ready(2);
        worker.tryAcquire();

        Router.Waiter waiter = await("waiter");

        assertThat(woken).containsExactly("waiter");
        assertThat(waiter.takeGrant()).isSameAs(worker);
        assertThat(worker.inFlight()).isEqualTo(2);
    }

    @Test
    void newRequestQueuesBehindWaitingOnesInsteadOfTakingAFreedWorkerFirst() {
        Endpoint full = ready(1);
        Endpoint starting = TestEndpoints.accepting(2, 1, slotListener);
        TestEndpoints.stopAccepting(starting);
        when(snapshot.ready()).thenReturn(new Endpoint[] {full, starting});
        full.tryAcquire();
        Router.Waiter waiter = await("older");

        TestEndpoints.startAccepting(starting);

        assertThat(router.pick(null)).as("a new request, while an older one waits").isNull();
        snapshotListener.accept(snapshot);
        assertThat(woken).containsExactly("older");
        assertThat(waiter.takeGrant()).isSameAs(starting);
    }

    @Test
    void retryOfAnOlderRequestIsNotHeldBehindTheQueue() {
        Endpoint failed = ready(1);
        Endpoint other = TestEndpoints.accepting(2, 1, slotListener);
        when(snapshot.ready()).thenReturn(new Endpoint[] {failed, other});
        TestEndpoints.stopAccepting(failed);
        other.tryAcquire();
        await("waiting");
        TestEndpoints.startAccepting(failed);

        assertThat(router.pick(null)).as("a new request").isNull();
        assertThat(router.pick(failed)).as("a retry, whose only choice is the worker that failed it").isSameAs(failed);
        assertThat(woken).isEmpty();
    }

    @Test
    void timedOutWaiterIsSkippedAndNeverWoken() {
        Endpoint worker = ready(1);
        worker.tryAcquire();
        Router.Waiter timedOut = await("timed out");
        await("next");

        assertThat(router.cancel(timedOut)).isTrue();
        worker.release(true);

        assertThat(woken).containsExactly("next");
        assertThat(timedOut.takeGrant()).isNull();
    }

    @Test
    void slotGrantedToARequestWhoseClientLeftGoesToTheNextWaiter() {
        Endpoint worker = ready(1);
        worker.tryAcquire();
        Router.Waiter gone = await("gone");
        Router.Waiter next = await("next");
        worker.release(true);
        assertThat(woken).containsExactly("gone");

        router.abandon(gone);

        assertThat(gone.takeGrant()).isNull();
        assertThat(woken).containsExactly("gone", "next");
        assertThat(next.takeGrant()).isSameAs(worker);
        assertThat(worker.inFlight()).isEqualTo(1);
    }

    @Test
    void abandonedWaiterThatWasNotGrantedFreesItsPlaceInTheQueue() {
        Endpoint worker = ready(1);
        worker.tryAcquire();
        Router.Waiter gone = await("gone");

        router.abandon(gone);

        assertThat(router.waiting()).isZero();
        worker.release(true);
        assertThat(woken).isEmpty();
        assertThat(worker.inFlight()).isZero();
    }

    @Test
    void queueLimitCountsRequestsWaitingForAFreeWorker() {
        Endpoint worker = ready(1);
        worker.tryAcquire();
        List<Router.Waiter> waiters = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiters.add(await("waiter " + i));
        }

        assertThat(router.await(-1, false, 0, false, () -> woken.add("one too many"))).isNull();
        assertThat(router.await(0, false, 0, false, () -> woken.add("one too many for its sticky worker"))).isNull();
        assertThat(router.waiting()).isEqualTo(3);
        assertThat(router.whyWaiting(-1, false)).contains("fleet.worker.max-concurrency");
        assertThat(router.whyWaitedInVain(-1, false)).contains("free slot");
    }

    @Test
    void stickyRequestWaitsForItsBusyWorkerWhileAnotherIsFree() {
        Endpoint[] workers = twoFullWorkers();
        workers[1].release(true);
        assertThat(router.pickSlot(0, false)).as("its worker is full").isNull();
        assertThat(router.slotWaits(0, false)).as("and still the session's").isTrue();

        Router.Waiter sticky = awaitSlot(0, "sticky");

        assertThat(woken).as("not given the free worker, which lacks the session's state").isEmpty();
        assertThat(router.pick(null)).as("a request without a session is not held behind it").isSameAs(workers[1]);
        workers[0].release(true);
        assertThat(woken).containsExactly("sticky");
        assertThat(sticky.takeGrant()).isSameAs(workers[0]);
        assertThat(router.whyWaiting(0, false)).contains("sticky session");
        assertThat(router.whyWaitedInVain(0, false)).contains("sticky session");
    }

    @Test
    void aFreedWorkerGoesToTheOldestWaiterThatMayTakeItAcrossTheSharedAndTheStickyQueues() {
        Endpoint[] workers = twoFullWorkers();
        Router.Waiter sticky = awaitSlot(0, "sticky, older");
        Router.Waiter any = await("any");

        workers[1].release(true);
        assertThat(woken).as("the older one waits for worker 0 only").containsExactly("any");
        assertThat(any.takeGrant()).isSameAs(workers[1]);

        Router.Waiter anyAgain = await("any again, older");
        Router.Waiter stickyAgain = awaitSlot(0, "sticky again");
        workers[0].release(true);
        assertThat(woken).containsExactly("any", "sticky, older");
        assertThat(sticky.takeGrant()).isSameAs(workers[0]);

        workers[0].release(true);
        assertThat(woken).as("the older of the two that may take worker 0").containsExactly("any", "sticky, older",
                "any again, older");
        assertThat(anyAgain.takeGrant()).isSameAs(workers[0]);
        workers[0].release(true);
        assertThat(woken).last().isEqualTo("sticky again");
        assertThat(stickyAgain.takeGrant()).isSameAs(workers[0]);
        assertThat(router.waiting()).isZero();
    }

    @Test
    void aStickyWaiterWhoseWorkerLeavesTheRotationTakesAnyWorker() {
        Endpoint[] workers = twoFullWorkers();
        Router.Waiter sticky = awaitSlot(0, "sticky");

        TestEndpoints.stopAccepting(workers[0]);
        snapshotListener.accept(snapshot);
        assertThat(woken).as("every worker is still full").isEmpty();
        assertThat(router.whyWaitedInVain(0, false)).as("no longer waiting for its own").doesNotContain("sticky");
        workers[1].release(true);

        assertThat(woken).containsExactly("sticky");
        assertThat(sticky.takeGrant()).isSameAs(workers[1]);
    }

    @Test
    void aWaiterWhoseGrantedWorkerDiedKeepsItsPlaceAheadOfNewerOnesAndIsNotTurnedAwayByTheLimit() {
        Endpoint dying = ready(1);
        dying.tryAcquire();
        Router.Waiter first = await("first");
        await("second");
        await("third");
        dying.release(true);
        assertThat(first.takeGrant()).isSameAs(dying);
        await("fourth");
        assertThat(router.waiting()).as("the queue is full").isEqualTo(3);

        // Its connection is refused: the worker died. Out of the rotation, it gives its slot to nobody.
        TestEndpoints.stopAccepting(dying);
        dying.release(false);
        Router.Waiter again = router.await(-1, false, first.arrival(), true, () -> woken.add("first again"));
        assertThat(again).as("let in once, not turned away now").isNotNull();
        assertThat(router.await(-1, false, 0, false, () -> woken.add("new"))).as("a new request still is").isNull();

        Endpoint replacement = TestEndpoints.accepting(2, 1, slotListener);
        when(snapshot.ready()).thenReturn(new Endpoint[] {replacement});
        snapshotListener.accept(snapshot);
        assertThat(woken).containsExactly("first", "first again");
        assertThat(again.takeGrant()).isSameAs(replacement);
    }

    @Test
    void aRetryThatHadNotWaitedGoesAheadOfTheWaitingRequests() {
        Endpoint worker = ready(1);
        worker.tryAcquire();
        await("waiting");
        Router.Waiter retry = router.await(-1, false, 0, true, () -> woken.add("retry"));

        worker.release(true);

        assertThat(woken).containsExactly("retry");
        assertThat(retry.takeGrant()).isSameAs(worker);
    }

    @Test
    void drainedWorkerReleasingItsLastRequestGrantsNothing() {
        Endpoint draining = ready(1);
        draining.tryAcquire();
        Router.Waiter waiter = await("waiter");
        TestEndpoints.stopAccepting(draining);

        draining.release(true);

        assertThat(woken).isEmpty();
        assertThat(draining.inFlight()).isZero();
        assertThat(router.cancel(waiter)).isTrue();
        assertThat(router.whyWaitedInVain(-1, false)).isEqualTo("no worker became READY");
    }

    @Test
    void underConcurrentLoadNoWorkerGoesPastItsLimitAndNoWaiterIsForgotten() throws Exception {
        underConcurrentLoad(false);
    }

    @Test
    void underConcurrentLoadWithStickyRequestsEachIsServedByItsOwnWorker() throws Exception {
        underConcurrentLoad(true);
    }

    /**
     * 8 threads, 3,000 requests each, on two workers of limit 1; with {@code sticky}, every third request of a
     * thread is bound to the worker of index {@code thread % 2} and must be served by it.
     */
    private void underConcurrentLoad(boolean sticky) throws Exception {
        Endpoint[] workers = {TestEndpoints.accepting(1, 0, 1, () -> slotListener.run()),
                TestEndpoints.accepting(2, 1, 1, () -> slotListener.run())};
        when(snapshot.ready()).thenReturn(workers);
        Router loaded = new Router(fleet, 1000, Balancer.LEAST_REQUEST);
        ArgumentCaptor<Runnable> slots = ArgumentCaptor.forClass(Runnable.class);
        verify(fleet, org.mockito.Mockito.times(2)).onSlotFreed(slots.capture());
        slotListener = slots.getValue();
        AtomicInteger[] busy = {new AtomicInteger(), new AtomicInteger()};
        AtomicInteger overlaps = new AtomicInteger();
        AtomicInteger queued = new AtomicInteger();
        AtomicInteger stickyServed = new AtomicInteger();
        AtomicInteger strays = new AtomicInteger();
        int threads = 8;
        int perThread = 3_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int home = t % 2;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        int slot = sticky && i % 3 == 0 ? home : -1;
                        Endpoint worker = slot < 0 ? loaded.pick(null) : loaded.pickSlot(slot, false);
                        if (worker == null) {
                            assertThat(slot < 0 || loaded.slotWaits(slot, false)).isTrue();
                            queued.incrementAndGet();
                            worker = awaitGrant(loaded, slot);
                        }
                        int index = worker.index();
                        if (slot >= 0) {
                            stickyServed.incrementAndGet();
                            if (index != slot) {
                                strays.incrementAndGet();
                            }
                        }
                        if (busy[index].incrementAndGet() > 1) {
                            overlaps.incrementAndGet();
                        }
                        // Held for a moment, as a request is: with 8 threads and 2 slots, some must queue even on a
                        // machine so loaded that the threads hardly run side by side.
                        java.util.concurrent.locks.LockSupport.parkNanos(20_000);
                        busy[index].decrementAndGet();
                        worker.release(true);
                    }
                    return null;
                }));
            }
            for (Future<?> future : done) {
                future.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(overlaps).as("requests a worker had at once beyond its limit of 1").hasValue(0);
        assertThat(queued).as("the load did make requests wait").hasValueGreaterThan(0);
        assertThat(workers[0].requests() + workers[1].requests()).as("every request served").isEqualTo((long) threads * perThread);
        assertThat(workers[0].inFlight() + workers[1].inFlight()).isZero();
        assertThat(loaded.waiting()).isZero();
        assertThat(stickyServed).hasValue(sticky ? threads * ((perThread + 2) / 3) : 0);
        assertThat(strays).as("sticky requests served by another worker than their own").hasValue(0);
    }

    /** What an exchange does: queue, be woken (on the granting thread), take the grant. Bounded: a lost wake-up fails. */
    private static Endpoint awaitGrant(Router router, int slot) throws InterruptedException {
        CountDownLatch granted = new CountDownLatch(1);
        Router.Waiter waiter = router.await(slot, false, 0, false, granted::countDown);
        assertThat(waiter).as("queue limit").isNotNull();
        assertThat(granted.await(10, TimeUnit.SECONDS)).as("woken within 10 s").isTrue();
        Endpoint worker = waiter.takeGrant();
        assertThat(worker).isNotNull();
        return worker;
    }

    private Endpoint ready(int maxConcurrency) {
        Endpoint endpoint = TestEndpoints.accepting(1, maxConcurrency, slotListener);
        when(snapshot.ready()).thenReturn(new Endpoint[] {endpoint});
        return endpoint;
    }

    private Router.Waiter await(String name) {
        return awaitSlot(-1, name);
    }

    /** A request that waits for the worker of sticky slot {@code slot} (negative: any worker). */
    private Router.Waiter awaitSlot(int slot, String name) {
        Router.Waiter waiter = router.await(slot, false, 0, false, () -> woken.add(name));
        assertThat(waiter).isNotNull();
        return waiter;
    }

    /** Two READY workers of indexes 0 and 1, each with a limit of one request, both full. */
    private Endpoint[] twoFullWorkers() {
        Endpoint[] workers = {TestEndpoints.accepting(1, 0, 1, slotListener), TestEndpoints.accepting(2, 1, 1, slotListener)};
        when(snapshot.ready()).thenReturn(workers);
        assertThat(workers[0].tryAcquire()).isTrue();
        assertThat(workers[1].tryAcquire()).isTrue();
        return workers;
    }
}
