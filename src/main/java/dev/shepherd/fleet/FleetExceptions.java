package dev.shepherd.fleet;

import dev.shepherd.Plural;

/** The errors a fleet command can end with; each message says what to do instead. */
public final class FleetExceptions {

    private FleetExceptions() {
    }

    /** No worker has that id (any more). */
    public static class NoSuchWorkerException extends RuntimeException {
        public NoSuchWorkerException(int id) {
            super("Worker " + id + " is not in the fleet; " + LISTS);
        }

        /** @param whereabouts where it went: "it left the fleet at … (replaced by worker 3); worker 3 holds its index 0 now" */
        public NoSuchWorkerException(int id, String whereabouts) {
            super("Worker " + id + " is not in the fleet: " + whereabouts + ". " + Character.toUpperCase(LISTS.charAt(0))
                    + LISTS.substring(1));
        }

        private static final String LISTS = "GET /fleet (or shepherd ls) lists the current ones, with their ids and "
                + "indexes (an index is not an id)";
    }

    /** A rolling reload is already running. */
    public static class ReloadInProgressException extends RuntimeException {
        public ReloadInProgressException(ReloadStatus status) {
            super("A reload to generation " + status.generation() + " is running (" + status.replaced() + " of "
                    + Plural.of(status.total(), "worker") + " replaced); wait until GET /fleet/reload (shepherd status) shows it "
                    + "finished, or stop it and roll it back with POST /fleet/reload/undo (shepherd reload --undo)");
        }
    }

    /** The command cannot run in the worker's or the fleet's present state. */
    public static class FleetConflictException extends RuntimeException {
        public FleetConflictException(String message) {
            super(message);
        }
    }

    /**
     * A replacement's program could not be started at all (the launch itself failed: a missing binary, a directory
     * that does not exist); the worker it was to replace serves on. The message says why, as the SPAWN_FAILED event does.
     */
    public static class CannotStartException extends RuntimeException {
        public CannotStartException(String message) {
            super(message);
        }
    }

    /**
     * The supervisor did not answer a command in time: it is busy (starting many workers, each a process and a
     * cgroup). Mostly the command was withdrawn and nothing changed ({@link #withdrawn}); rarely the supervisor had
     * begun it and it finishes on its own ({@link #underWay}).
     */
    public static class SupervisorBusyException extends RuntimeException {

        private final boolean withdrawn;

        private SupervisorBusyException(String message, boolean withdrawn) {
            super(message);
            this.withdrawn = withdrawn;
        }

        /** Whether the command never ran, so that sending it again is right (a {@code Retry-After} says when). */
        public boolean withdrawn() {
            return withdrawn;
        }

        /** The command never ran: the sender may send it again. */
        public static SupervisorBusyException withdrawn(long seconds) {
            return new SupervisorBusyException("The supervisor did not get to the command within " + seconds
                    + " s: it is busy (starting many workers, say). The command was withdrawn and nothing changed: "
                    + "send it again later", true);
        }

        /** The command runs, and did not finish in time: sending it again would give it twice. */
        public static SupervisorBusyException underWay(long seconds) {
            return new SupervisorBusyException("The supervisor began the command and did not finish it within "
                    + seconds + " s; it goes on: GET /fleet (shepherd status) shows when it has", false);
        }
    }

    /** A reload's new worker spec is not valid; the message names the field and what it must be. */
    public static class InvalidSpecException extends RuntimeException {
        public InvalidSpecException(String message) {
            super(message);
        }
    }
}
