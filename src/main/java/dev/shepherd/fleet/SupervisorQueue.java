package dev.shepherd.fleet;

import java.time.Duration;

/**
 * Where the supervisor's events wait to be handled, now or after a delay: the {@link SupervisorLoop} with its one
 * thread, or a queue that a unit test drains and whose time it advances by hand. Posting is safe from any thread.
 */
interface SupervisorQueue {

    /** A timer that can be taken back. */
    interface Scheduled {

        /** Takes the event back if it has not been posted yet; harmless after. */
        void cancel();
    }

    /** Queues {@code event} for {@link Supervisor#handle}. */
    void post(SupervisorEvent event);

    /** Posts {@code event} after {@code delay}. */
    Scheduled schedule(SupervisorEvent event, Duration delay);
}
