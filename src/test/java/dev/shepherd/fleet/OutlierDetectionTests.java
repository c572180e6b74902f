package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.Round;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.system.CapturedOutput;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Envoy's consecutive-5xx outlier ejection, on a supervisor with fake processes and a manual clock. */
@org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
class OutlierDetectionTests {

    private static SupervisorHarness fleet(int workers, String... more) {
        String[] config = new String[6 + more.length];
        config[0] = "fleet.workers";
        config[1] = Integer.toString(workers);
        config[2] = "fleet.proxy.outlier-detection.consecutive-5xx";
        config[3] = "3";
        config[4] = "fleet.proxy.outlier-detection.base-ejection-time";
        config[5] = "10s";
        System.arraycopy(more, 0, config, 6, more.length);
        return new SupervisorHarness(config).started();
    }

    private static void fail(SupervisorHarness fleet, int workerId, int times) {
        Endpoint endpoint = fleet.worker(workerId).endpoint();
        for (int i = 0; i < times; i++) {
            endpoint.answered(500);
        }
        fleet.queue.drain();
    }

    @Test
    void consecutiveFailuresEjectTheWorkerForTheBaseTimeAndNoProbeBringsItBackEarlier() {
        SupervisorHarness fleet = fleet(2);

        fail(fleet, 1, 2);
        assertThat(fleet.snapshot().inRotation()).as("two failures are not three").isEqualTo(2);
        fail(fleet, 1, 1);

        assertThat(fleet.snapshot().inRotation()).isEqualTo(1);
        assertThat(fleet.worker(1).endpoint().isAccepting()).isFalse();
        assertThat(fleet.worker(1).state()).isEqualTo(WorkerState.READY);
        assertThat(fleet.events.recent()).last().satisfies(event -> {
            assertThat(event.type()).isEqualTo(Type.EJECTED);
            assertThat(event.message()).isEqualTo("worker 1 failed 3 requests in a row (5xx or no answer); out of rotation "
                    + "for 10000 ms (ejection 1)");
        });

        fleet.round(Round.LIVENESS);
        fleet.queue.advance(Duration.ofMillis(9_999));
        assertThat(fleet.worker(1).endpoint().isAccepting()).as("a passing probe does not end an ejection").isFalse();

        fleet.queue.advance(Duration.ofMillis(1));
        assertThat(fleet.worker(1).endpoint().isAccepting()).isTrue();
        assertThat(fleet.snapshot().inRotation()).isEqualTo(2);
    }

    @Test
    void anAnswerBetweenFailuresStartsTheRunOver() {
        SupervisorHarness fleet = fleet(2);
        Endpoint endpoint = fleet.worker(1).endpoint();

        endpoint.answered(502);
        endpoint.answered(503);
        endpoint.answered(404);
        endpoint.answered(500);
        endpoint.attemptFailed();
        fleet.queue.drain();

        assertThat(endpoint.isAccepting()).isTrue();
        endpoint.answered(504);
        fleet.queue.drain();
        assertThat(endpoint.isAccepting()).as("500, a failed attempt, 504").isFalse();
    }

    @Test
    void askingAgainWhetherAFailedWorkerDiedCountsNoFailure() {
        SupervisorHarness fleet = fleet(2);
        Endpoint endpoint = fleet.worker(1).endpoint();

        endpoint.answered(500);
        endpoint.attemptFailed();
        for (int i = 0; i < 5; i++) {
            endpoint.recheckExited();
        }
        fleet.queue.drain();

        assertThat(endpoint.isAccepting()).isTrue();
        endpoint.answered(500);
        fleet.queue.drain();
        assertThat(endpoint.isAccepting()).isFalse();
    }

    @Test
    void eachEjectionOfOneProcessLastsOneBaseTimeLongerUpToTheMaximum() {
        SupervisorHarness fleet = fleet(2, "fleet.proxy.outlier-detection.max-ejection-time", "25s");

        fail(fleet, 1, 3);
        fleet.queue.advance(Duration.ofSeconds(10));
        fail(fleet, 1, 3);
        fleet.queue.advance(Duration.ofMillis(19_999));
        assertThat(fleet.worker(1).endpoint().isAccepting()).isFalse();
        fleet.queue.advance(Duration.ofMillis(1));
        assertThat(fleet.worker(1).endpoint().isAccepting()).isTrue();

        fail(fleet, 1, 3);
        assertThat(fleet.events.recent()).last().extracting(FleetEvent::message).asString()
                .endsWith("out of rotation for 25000 ms (ejection 3)");
    }

    @Test
    void aRunNotEjectedIsLoggedThe1st2nd4thTimeNotAtTheRateOfFailures(CapturedOutput output) {
        SupervisorHarness fleet = fleet(1);

        for (int run = 0; run < 8; run++) {
            fail(fleet, 1, 3);
        }

        assertThat(output.getOut().lines().filter(line -> line.contains("not ejected ("))).hasSize(4)
                .anySatisfy(line -> assertThat(line).contains("not ejected (8 times for this process): it is the last "
                        + "worker in rotation"));
    }

    @Test
    void anEjectionEndsEarlyWhenTheOtherWorkersLeaveTheRotation() {
        SupervisorHarness fleet = fleet(2);
        fail(fleet, 1, 3);
        assertThat(fleet.worker(1).endpoint().isAccepting()).isFalse();

        fleet.command(new SupervisorEvent.Scale(1, new java.util.concurrent.CompletableFuture<>()));

        assertThat(fleet.worker(1).state()).isEqualTo(WorkerState.READY);
        assertThat(fleet.worker(1).endpoint().isAccepting()).as("worker 2, scaled down, was the last in rotation").isTrue();
        assertThat(fleet.snapshot().inRotation()).isEqualTo(1);
    }

    @Test
    void anEjectionEndsEarlyWhenTheLastWorkerInRotationDies() {
        SupervisorHarness fleet = fleet(2);
        fail(fleet, 1, 3);

        fleet.process(2).exit(1);
        fleet.queue.drain();

        assertThat(fleet.worker(1).endpoint().isAccepting()).isTrue();
    }

    @Test
    void theLastWorkerInRotationIsNeverEjected() {
        SupervisorHarness fleet = fleet(1);

        fail(fleet, 1, 3);

        assertThat(fleet.worker(1).endpoint().isAccepting()).isTrue();
        assertThat(fleet.eventTypes()).doesNotContain(Type.EJECTED);
        fail(fleet, 1, 3);
        assertThat(fleet.worker(1).endpoint().isAccepting()).as("judged again after another run").isTrue();
    }

    @Test
    void beyondTheFirstEjectionTheMaxEjectionPercentHolds() {
        SupervisorHarness fleet = fleet(4, "fleet.proxy.outlier-detection.max-ejection-percent", "50");

        fail(fleet, 1, 3);
        fail(fleet, 2, 3);
        fail(fleet, 3, 3);

        assertThat(fleet.snapshot().inRotation()).as("two of four is 50 %, a third would be 75 %").isEqualTo(2);
        assertThat(fleet.worker(3).endpoint().isAccepting()).isTrue();

        fleet.queue.advance(Duration.ofSeconds(10));
        fail(fleet, 3, 3);
        assertThat(fleet.worker(3).endpoint().isAccepting()).as("room again once the others are back").isFalse();
    }

    @Test
    void aNewProcessOfTheWorkerStartsFromTheBaseTimeAgain() {
        SupervisorHarness fleet = fleet(2);
        fail(fleet, 1, 3);
        fleet.queue.advance(Duration.ofSeconds(10));
        fail(fleet, 1, 3);

        fleet.process(1).exit(1);
        fleet.queue.advance(Duration.ofSeconds(5));
        assertThat(fleet.worker(1).state()).isEqualTo(WorkerState.READY);
        fail(fleet, 1, 3);

        assertThat(fleet.events.recent()).last().extracting(FleetEvent::message).asString()
                .endsWith("out of rotation for 10000 ms (ejection 1)");
    }

    @Test
    void offByDefault() {
        SupervisorHarness fleet = new SupervisorHarness("fleet.workers", "2").started();

        fail(fleet, 1, 100);

        assertThat(fleet.snapshot().inRotation()).isEqualTo(2);
    }
}
