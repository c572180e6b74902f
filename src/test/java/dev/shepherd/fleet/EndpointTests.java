package dev.shepherd.fleet;

import dev.shepherd.worker.ZombieChild;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

class EndpointTests {

    private final AtomicInteger ejections = new AtomicInteger();
    private final ProcessHandle process = process(42_424_242, true);
    private final Endpoint endpoint = new Endpoint(3, process, 50_123, ejections::incrementAndGet);

    @Test
    void newEndpointTakesNoTrafficUntilItStartsAccepting() {
        assertThat(endpoint.isAccepting()).isFalse();
        assertThat(endpoint.tryAcquire()).isFalse();
        assertThat(endpoint.inFlight()).isZero();
    }

    @Test
    void acquireAndReleaseCountRequestsInAndOut() {
        endpoint.startAccepting();

        assertThat(endpoint.tryAcquire()).isTrue();
        assertThat(endpoint.tryAcquire()).isTrue();
        assertThat(endpoint.inFlight()).isEqualTo(2);

        endpoint.release(true);
        assertThat(endpoint.inFlight()).isEqualTo(1);
        assertThat(endpoint.requests()).isEqualTo(1);

        endpoint.release(false);
        assertThat(endpoint.inFlight()).isZero();
        assertThat(endpoint.requests()).as("a request the worker did not answer is not served").isEqualTo(1);
    }

    @Test
    void stoppedEndpointRefusesNewRequestsButKeepsCountingTheOnesInFlight() {
        endpoint.startAccepting();
        endpoint.tryAcquire();

        endpoint.stopAccepting();

        assertThat(endpoint.tryAcquire()).isFalse();
        assertThat(endpoint.inFlight()).isEqualTo(1);
        endpoint.release(true);
        assertThat(endpoint.inFlight()).isZero();
    }

    @Test
    void inFlightIsExactUnderConcurrentRequests() throws Exception {
        endpoint.startAccepting();
        int threads = 8;
        int perThread = 10_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        if (endpoint.tryAcquire()) {
                            endpoint.release(true);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : done) {
                future.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(endpoint.inFlight()).isZero();
        assertThat(endpoint.requests()).isEqualTo((long) threads * perThread);
    }

    @Test
    void limitedEndpointCountsNoRequestBeyondItsLimit() {
        AtomicInteger freed = new AtomicInteger();
        Endpoint limited = new Endpoint(5, process, 50_125, 2, ejections::incrementAndGet, freed::incrementAndGet);
        limited.startAccepting();

        assertThat(limited.tryAcquire()).isTrue();
        assertThat(limited.hasFreeSlot()).isTrue();
        assertThat(limited.tryAcquire()).isTrue();
        assertThat(limited.hasFreeSlot()).isFalse();
        assertThat(limited.tryAcquire()).as("at the limit").isFalse();
        assertThat(limited.inFlight()).isEqualTo(2);
        assertThat(freed).as("a refused request counted nothing out").hasValue(0);

        limited.release(true);

        assertThat(freed).as("each release tells the slot listener").hasValue(1);
        assertThat(limited.tryAcquire()).isTrue();
        assertThat(limited.maxConcurrency()).isEqualTo(2);
    }

    @Test
    void unlimitedEndpointNeverCallsTheSlotListener() {
        AtomicInteger freed = new AtomicInteger();
        Endpoint unlimited = new Endpoint(5, process, 50_125, 0, ejections::incrementAndGet, freed::incrementAndGet);
        unlimited.startAccepting();
        for (int i = 0; i < 1000; i++) {
            assertThat(unlimited.tryAcquire()).isTrue();
        }

        unlimited.release(true);

        assertThat(unlimited.hasFreeSlot()).isTrue();
        assertThat(freed).hasValue(0);
    }

    @Test
    void countTakenBackOnADrainingWorkerWakesItsStickyWaiters() {
        // A try that raced the drain's start counts the request in, finds the worker out of rotation and takes the
        // count back; meanwhile a sticky request may have found the worker full and queued for it.
        AtomicInteger freed = new AtomicInteger();
        Endpoint limited = new Endpoint(5, process, 50_125, 1, ejections::incrementAndGet, freed::incrementAndGet);
        limited.startAccepting();
        limited.startDraining();

        assertThat(limited.tryAcquire()).as("out of rotation").isFalse();
        assertThat(limited.inFlight()).isZero();
        assertThat(freed).as("the slot listener hears of the count taken back").hasValue(1);
        assertThat(limited.tryAcquireSticky()).as("the sticky waiter takes the slot").isTrue();
    }

    /** Half a drain over ({@link Drains}): no more sticky requests, those in flight still end the drain. */
    @Test
    void endingStickyOfADrainingWorkerKeepsItsRequestsAndWakesItsWaiters() {
        AtomicInteger freed = new AtomicInteger();
        Endpoint limited = new Endpoint(5, process, 50_125, 1, ejections::incrementAndGet, freed::incrementAndGet);
        limited.startAccepting();
        limited.startDraining();
        assertThat(limited.tryAcquireSticky()).isTrue();

        limited.endSticky();

        assertThat(limited.isDraining()).isFalse();
        assertThat(freed).as("sticky waiters go to other workers now").hasValue(1);
        assertThat(limited.inFlight()).isOne();
        assertThat(limited.drained()).as("a request still in flight").isFalse();
        limited.release(true);
        assertThat(limited.tryAcquireSticky()).isFalse();
        assertThat(limited.drained()).isTrue();
    }

    @Test
    void countTakenBackOnAStoppedWorkerWakesNobody() {
        AtomicInteger freed = new AtomicInteger();
        Endpoint limited = new Endpoint(5, process, 50_125, 1, ejections::incrementAndGet, freed::incrementAndGet);
        limited.startAccepting();
        limited.stopAccepting();

        assertThat(limited.tryAcquire()).isFalse();
        assertThat(limited.tryAcquireSticky()).isFalse();
        assertThat(freed).as("no request can take its slot").hasValue(0);
    }

    @Test
    void limitedEndpointStoppedFromTakingTrafficRefusesEvenWithAFreeSlot() {
        Endpoint limited = new Endpoint(5, process, 50_125, 1, ejections::incrementAndGet, () -> { });
        limited.startAccepting();
        limited.stopAccepting();

        assertThat(limited.tryAcquire()).isFalse();
        assertThat(limited.inFlight()).isZero();
    }

    @Test
    void concurrentRequestsNeverPushALimitedEndpointPastItsLimit() throws Exception {
        int limit = 3;
        Endpoint limited = new Endpoint(5, process, 50_125, limit, ejections::incrementAndGet, () -> { });
        limited.startAccepting();
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger mostHeld = new AtomicInteger();
        AtomicInteger mostCounted = new AtomicInteger();
        int threads = 8;
        int perThread = 20_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        if (limited.tryAcquire()) {
                            mostHeld.accumulateAndGet(holding.incrementAndGet(), Math::max);
                            mostCounted.accumulateAndGet(limited.inFlight(), Math::max);
                            holding.decrementAndGet();
                            limited.release(true);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : done) {
                future.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(mostHeld).as("requests admitted at once").hasValueLessThanOrEqualTo(limit);
        assertThat(mostCounted).as("in-flight count seen by an admitted request").hasValueLessThanOrEqualTo(limit);
        assertThat(limited.inFlight()).isZero();
        assertThat(limited.requests()).isPositive();
    }

    @Test
    void threeRefusalsInARowEjectTheWorkerOnce() {
        endpoint.startAccepting();

        assertThat(endpoint.connectRefused()).isFalse();
        assertThat(endpoint.connectRefused()).isFalse();
        assertThat(endpoint.isAccepting()).isTrue();
        assertThat(ejections).hasValue(0);

        assertThat(endpoint.connectRefused()).as("out of rotation now").isTrue();
        assertThat(endpoint.isAccepting()).isFalse();
        assertThat(endpoint.tryAcquire()).isFalse();
        assertThat(ejections).hasValue(1);

        endpoint.connectRefused();
        endpoint.connectRefused();
        assertThat(ejections).as("ejected once, not on every later refusal").hasValue(1);
    }

    @Test
    void successfulConnectResetsTheRefusalCount() {
        endpoint.startAccepting();
        endpoint.connectRefused();
        endpoint.connectRefused();

        endpoint.connected();
        endpoint.connectRefused();
        endpoint.connectRefused();

        assertThat(endpoint.isAccepting()).isTrue();
        assertThat(ejections).hasValue(0);
    }

    @Test
    void readmittedEndpointStartsCountingRefusalsAfresh() {
        endpoint.startAccepting();
        for (int i = 0; i < 3; i++) {
            endpoint.connectRefused();
        }

        endpoint.startAccepting();
        endpoint.connectRefused();
        endpoint.connectRefused();

        assertThat(endpoint.isAccepting()).isTrue();
        assertThat(ejections).hasValue(1);
        endpoint.connectRefused();
        assertThat(ejections).hasValue(2);
    }

    @Test
    void workerEjectedForRefusalsAndThenDrainedTakesNoStickyRequests() {
        endpoint.startAccepting();
        for (int i = 0; i < 3; i++) {
            endpoint.connectRefused();
        }

        endpoint.startDraining();

        assertThat(endpoint.isDraining()).isFalse();
        assertThat(endpoint.tryAcquireSticky()).isFalse();
        assertThat(endpoint.drained()).isTrue();
    }

    @Test
    void refusalByADeadProcessTakesItOutOfRotationAtOnce() {
        Endpoint dead = new Endpoint(4, process(43_434_343, false), 50_124, ejections::incrementAndGet);
        dead.startAccepting();

        assertThat(dead.connectRefused()).isTrue();

        assertThat(dead.isAccepting()).isFalse();
        assertThat(dead.tryAcquire()).isFalse();
        assertThat(ejections).as("the fleet hears of it at once, so its rotation count is honest").hasValue(1);
    }

    @Test
    void failedAttemptOnADeadProcessTakesItOutOfRotationAtOnce() {
        Endpoint dead = new Endpoint(4, process(43_434_343, false), 50_124, ejections::incrementAndGet);
        dead.startAccepting();

        dead.attemptFailed();
        dead.attemptFailed();

        assertThat(dead.tryAcquire()).isFalse();
        assertThat(ejections).as("told once").hasValue(1);
    }

    @Test
    void failedAttemptOnAProcessThatExitedButIsNotReapedYetTakesItOutOfRotation() throws Exception {
        assumeThat(Files.isDirectory(Path.of("/proc/self"))).as("no /proc here").isTrue();
        // A zombie, which the JDK calls alive, as it does a killed worker between its connections' reset and its
        // reaping.
        try (ZombieChild zombie = ZombieChild.start()) {
            Endpoint dying = new Endpoint(4, zombie.child(), 50_124, ejections::incrementAndGet);
            dying.startAccepting();
            dying.attemptFailed();
            assertThat(dying.isAccepting()).as("still running").isTrue();

            zombie.kill();
            dying.attemptFailed();

            assertThat(zombie.child().isAlive()).as("not reaped").isTrue();
            assertThat(dying.isAccepting()).isFalse();
            assertThat(ejections).hasValue(1);
        }
    }

    @Test
    void failedAttemptOnALiveProcessKeepsItInRotation() {
        endpoint.startAccepting();

        endpoint.attemptFailed();

        assertThat(endpoint.tryAcquire()).as("a live worker may fail one request and serve the next").isTrue();
    }

    @Test
    void describesItselfByWorkerPidAndPort() {
        assertThat(endpoint).hasToString("worker 3 (pid 42424242, port 50123)");
        assertThat(endpoint.workerId()).isEqualTo(3);
        assertThat(endpoint.pid()).isEqualTo(42_424_242);
        assertThat(endpoint.port()).isEqualTo(50_123);
    }

    @Test
    void tunnelOpenedWhileItsWorkerDrainsGoesAwayWithinWhatIsLeftOfTheWindowNotAWholeNewOne() {
        AtomicLong now = new AtomicLong(-5_000);
        Endpoint draining = new Endpoint(5, 0, process, 50_125, 0, ejections::incrementAndGet, () -> { }, now::get);
        List<Duration> asked = new ArrayList<>();

        draining.closeTunnels(Duration.ofSeconds(30));
        now.addAndGet(Duration.ofSeconds(25).toNanos());
        draining.tunnelOpened(asked::add);
        // The fleet stops the worker when the window is over: a tunnel still open then would lose its close frame.
        assertThat(asked).containsExactly(Duration.ofSeconds(5));

        now.addAndGet(Duration.ofSeconds(10).toNanos());
        draining.tunnelOpened(asked::add);
        assertThat(asked).containsExactly(Duration.ofSeconds(5), Duration.ZERO);
    }

    @Test
    void askingTunnelsToCloseAgainNeverMovesTheirEndLater() {
        AtomicLong now = new AtomicLong(Long.MAX_VALUE - 1_000);
        Endpoint draining = new Endpoint(5, 0, process, 50_125, 0, ejections::incrementAndGet, () -> { }, now::get);
        List<Duration> asked = new ArrayList<>();

        draining.closeTunnels(Duration.ofSeconds(30));
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        draining.closeTunnels(Duration.ofSeconds(30));
        draining.tunnelOpened(asked::add);
        draining.closeTunnels(Duration.ZERO);
        draining.tunnelOpened(asked::add);

        // The tunnel already open is asked again (keeping its earlier moment, Tunnel's rule); the new one at once.
        assertThat(asked).containsExactly(Duration.ofSeconds(20), Duration.ZERO, Duration.ZERO);
    }

    /** A fake process; {@code pid} above Linux's limit (2^22), so that no /proc entry answers for it. */
    private static ProcessHandle process(long pid, boolean alive) {
        ProcessHandle process = mock(ProcessHandle.class);
        when(process.pid()).thenReturn(pid);
        when(process.isAlive()).thenReturn(alive);
        return process;
    }
}
