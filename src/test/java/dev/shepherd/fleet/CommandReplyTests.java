package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A command's reply: withdrawn when the supervisor has not begun it in time, awaited when it has. */
class CommandReplyTests {

    @Test
    void aCommandNotBegunInTimeIsWithdrawnAndTheSupervisorThenSkipsIt() {
        CommandReply<Integer> reply = new CommandReply<>();

        assertThatThrownBy(() -> reply.await(Duration.ofMillis(20), Duration.ofSeconds(5)))
                .isInstanceOf(FleetExceptions.SupervisorBusyException.class)
                .hasMessage("The supervisor did not get to the command within 0 s: it is busy (starting many workers, "
                        + "say). The command was withdrawn and nothing changed: send it again later");
        assertThat(reply.begin()).as("the supervisor may not run it now").isFalse();
    }

    @Test
    void aCommandBegunInTimeIsAwaitedPastTheFirstTimeout() throws Exception {
        CommandReply<Integer> reply = new CommandReply<>();
        assertThat(reply.begin()).isTrue();
        CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS).execute(() -> reply.complete(7));

        assertThat(reply.await(Duration.ofMillis(20), Duration.ofSeconds(5))).isEqualTo(7);
        assertThat(reply.withdraw()).isFalse();
    }

    @Test
    void aBegunCommandThatOutlastsBothWaitsIsSaidToGoOn() {
        CommandReply<Integer> reply = new CommandReply<>();
        reply.begin();

        assertThatThrownBy(() -> reply.await(Duration.ofMillis(20), Duration.ofMillis(1000)))
                .isInstanceOf(FleetExceptions.SupervisorBusyException.class)
                .hasMessage("The supervisor began the command and did not finish it within 1 s; it goes on: GET /fleet "
                        + "(shepherd status) shows when it has");
    }

    @Test
    void aRefusalReachesTheSenderAsItself() {
        CommandReply<Integer> reply = new CommandReply<>();
        reply.begin();
        reply.completeExceptionally(new FleetExceptions.FleetConflictException("A reload is running"));

        assertThatThrownBy(() -> reply.await(Duration.ofMillis(20), Duration.ofMillis(20)))
                .isInstanceOf(FleetExceptions.FleetConflictException.class).hasMessage("A reload is running");
    }

    @Test
    void theSupervisorAndTheSenderNeverBothWin() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < 2_000; i++) {
                CommandReply<Void> reply = new CommandReply<>();
                CountDownLatch go = new CountDownLatch(1);
                Future<Boolean> begun = threads.submit(() -> {
                    go.await();
                    return reply.begin();
                });
                Future<Boolean> withdrawn = threads.submit(() -> {
                    go.await();
                    return reply.withdraw();
                });
                go.countDown();
                assertThat(begun.get() ^ withdrawn.get()).as("exactly one of begin and withdraw, round %d", i).isTrue();
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
