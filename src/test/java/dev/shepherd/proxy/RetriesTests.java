package dev.shepherd.proxy;

import dev.shepherd.fleet.Balancer;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.TestEndpoints;
import dev.shepherd.fleet.WorkerFleetService;
import io.netty.util.concurrent.DefaultEventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

/**
 * {@link Retries#awaitExit}: with the retry budget spent, a request learns whether the worker that failed it died,
 * on real processes and a fake fleet whose snapshots the test publishes.
 */
class RetriesTests {

    private static final Duration BACKOFF = Duration.ofMillis(400);

    private final WorkerFleetService fleet = mock(WorkerFleetService.class);
    private final FleetSnapshot snapshot = mock(FleetSnapshot.class);
    private final DefaultEventExecutor loop = new DefaultEventExecutor();
    private final AtomicLong version = new AtomicLong(1);
    private final AtomicReference<Endpoint[]> ready = new AtomicReference<>(new Endpoint[0]);
    private final AtomicInteger routes = new AtomicInteger();
    private Consumer<FleetSnapshot> publish;
    private Retries retries;
    private Process worker;

    @BeforeEach
    @SuppressWarnings("unchecked")
    void fakeFleetAndALiveWorkerProcess() throws IOException {
        when(fleet.snapshot()).thenReturn(snapshot);
        when(snapshot.ready()).thenAnswer(invocation -> ready.get());
        when(snapshot.version()).thenAnswer(invocation -> version.get());
        Router router = new Router(fleet, 2, Balancer.ROUND_ROBIN);
        ArgumentCaptor<Consumer<FleetSnapshot>> listener = ArgumentCaptor.forClass(Consumer.class);
        verify(fleet).onSnapshot(listener.capture());
        publish = listener.getValue();
        retries = new Retries(router, loop, BACKOFF.toNanos(), routes::incrementAndGet);
        worker = new ProcessBuilder("sleep", "30").start();
    }

    @AfterEach
    void stop() throws InterruptedException {
        worker.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A new fleet snapshot, as the fleet publishes one when a worker's state changes. */
    private void publishChange() {
        version.incrementAndGet();
        publish.accept(snapshot);
    }

    private AtomicReference<Boolean> awaitExit(Endpoint failed, AtomicLong decidedAt) {
        AtomicReference<Boolean> decided = new AtomicReference<>();
        loop.submit(() -> retries.awaitExit(failed, exited -> {
            assertThat(loop.inEventLoop()).as("decided on the request's loop").isTrue();
            decidedAt.set(System.nanoTime());
            decided.set(exited);
        })).syncUninterruptibly();
        return decided;
    }

    @Test
    void aFailedWorkerFoundAliveAtItsFailureLeavesTheRotationWhenAskedAgainAfterItsExit() throws InterruptedException {
        // A killed worker resets its connections a moment before its exit is reaped: the failure found it alive.
        Endpoint failed = TestEndpoints.accepting(1, worker.toHandle());
        Endpoint alive = TestEndpoints.accepting(2, ProcessHandle.current());
        failed.attemptFailed();
        retries.failedOn(failed);
        retries.failedOn(alive);
        assertThat(failed.isAccepting()).as("alive at its failure").isTrue();

        retries.recheckFailedWorkers();
        assertThat(failed.isAccepting()).as("still alive").isTrue();

        worker.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        retries.recheckFailedWorkers();

        assertThat(failed.isAccepting()).as("dead when asked again").isFalse();
        assertThat(alive.isAccepting()).as("a live worker that failed the request stays").isTrue();
    }

    @Test
    void aWorkerWhoseExitIsAlreadyKnownIsDeadAtOnce() throws InterruptedException {
        worker.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        Endpoint failed = TestEndpoints.accepting(1, worker.toHandle());

        AtomicReference<Boolean> decided = awaitExit(failed, new AtomicLong());

        assertThat(decided.get()).as("decided before awaitExit returned").isTrue();
        assertThat(retries.waiting()).isFalse();
    }

    @Test
    void aWorkerThatDiesIsKnownDeadAtItsExitNotAtTheEndOfTheBackoff() throws Exception {
        Endpoint failed = TestEndpoints.accepting(1, worker.toHandle());
        AtomicLong decidedAt = new AtomicLong();
        AtomicReference<Boolean> decided = awaitExit(failed, decidedAt);
        assertThat(retries.waiting()).as("waits while the worker is alive").isTrue();

        publishChange();
        await("a fleet change, the worker still alive: it waits on").during(Duration.ofMillis(50))
                .atMost(Duration.ofSeconds(1)).until(() -> decided.get() == null);

        long died = System.nanoTime();
        worker.destroyForcibly().waitFor(5, TimeUnit.SECONDS);

        await().atMost(Duration.ofSeconds(2)).until(() -> decided.get() != null);
        assertThat(decided.get()).isTrue();
        assertThat(Duration.ofNanos(decidedAt.get() - died)).as("at the exit, with no fleet change, not at the backoff")
                .isLessThan(BACKOFF);
        assertThat(retries.waiting()).isFalse();
        assertThat(routes).as("deciding is the caller's: nothing was routed").hasValue(0);
    }

    @Test
    void aWorkerThatLivesOnIsKnownAliveWhenTheBackoffIsOver() {
        Endpoint failed = TestEndpoints.accepting(1, worker.toHandle());
        long start = System.nanoTime();
        AtomicLong decidedAt = new AtomicLong();

        AtomicReference<Boolean> decided = awaitExit(failed, decidedAt);
        publishChange();

        await().atMost(Duration.ofSeconds(5)).until(() -> decided.get() != null);
        assertThat(decided.get()).isFalse();
        assertThat(Duration.ofNanos(decidedAt.get() - start)).isGreaterThanOrEqualTo(BACKOFF);
        assertThat(retries.waiting()).isFalse();
    }

    @Test
    void aBackoffLeftFromAnEarlierFleetChangeWaitNeverRoutesTheRequestWhileItWaitsForAnExit() throws Exception {
        Process other = new ProcessBuilder("sleep", "30").start();
        try {
            Endpoint first = TestEndpoints.accepting(1, other.toHandle());
            Endpoint second = TestEndpoints.accepting(2, worker.toHandle());
            // A retry after the first worker failed: it is the only READY one, so the request waits for a fleet
            // change, with a backoff timer.
            ready.set(new Endpoint[] {first});
            loop.submit(() -> {
                retries.failedOn(first);
                assertThat(retries.pick()).isNull();
                assertThat(retries.waiting()).isTrue();
            }).syncUninterruptibly();
            // The fleet changes with no READY worker: routed, the request queues (no Retries wait) and the timer
            // stays; then the queue hands it the second worker, which fails it and lives: the budget is spent.
            ready.set(new Endpoint[0]);
            publishChange();
            await().atMost(Duration.ofSeconds(2)).until(() -> routes.get() == 1);
            loop.submit(() -> assertThat(retries.pick()).isNull()).syncUninterruptibly();
            ready.set(new Endpoint[] {second});
            AtomicLong decidedAt = new AtomicLong();
            long start = System.nanoTime();
            AtomicReference<Boolean> decided = awaitExit(second, decidedAt);

            await().atMost(Duration.ofSeconds(5)).until(() -> decided.get() != null);
            assertThat(decided.get()).as("the second worker lives").isFalse();
            assertThat(Duration.ofNanos(decidedAt.get() - start)).as("a whole backoff of its own")
                    .isGreaterThanOrEqualTo(BACKOFF);
            assertThat(routes).as("the first wait's timer did not route it again").hasValue(1);
        } finally {
            other.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRequestThatEndsWhileItWaitsIsNeverDecided() throws InterruptedException {
        Endpoint failed = TestEndpoints.accepting(1, worker.toHandle());
        AtomicReference<Boolean> decided = awaitExit(failed, new AtomicLong());

        loop.submit(retries::stop).syncUninterruptibly();
        worker.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        publishChange();

        await("neither the exit nor the backoff decides it").during(BACKOFF.plusMillis(200))
                .atMost(BACKOFF.plusSeconds(2)).until(() -> decided.get() == null);
    }
}
