package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The supervisor's thread: what a step throws is logged, and the next event is handled all the same. */
@ExtendWith(OutputCaptureExtension.class)
class SupervisorLoopTests {

    /**
     * An Error (a thread the master could not start) ended the executor's task unseen: found by an attacking helper,
     * whose worker stayed STARTING for good with no line in the log.
     */
    @Test
    void anErrorOfAStepIsLoggedAndTheNextEventIsHandled(CapturedOutput output) {
        AtomicInteger reconciled = new AtomicInteger();
        SupervisorLoop loop = new SupervisorLoop(supervisor -> {
            if (reconciled.incrementAndGet() == 1) {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource "
                        + "limits reached");
            }
        });
        try {
            // No supervisor attached: handling fails too (a RuntimeException), and is logged as before.
            loop.post(new SupervisorEvent.ReconcileMore());
            loop.post(new SupervisorEvent.ReconcileMore());

            await().atMost(Duration.ofSeconds(5)).until(() -> reconciled.get() == 2);
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(output.getOut())
                    .contains("Reconciling the fleet failed", "java.lang.OutOfMemoryError: unable to create native thread"));
        } finally {
            loop.shutdown();
        }
    }
}
