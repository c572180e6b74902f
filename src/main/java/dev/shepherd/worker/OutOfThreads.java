package dev.shepherd.worker;

/**
 * Tells a failure of the master's own, out of threads ({@code pthread_create} refused: the user's process limit
 * {@code ulimit -u}, a container's {@code pids.max}, systemd's {@code TasksMax}), which a worker that forks without
 * end causes for every process of its user. The JDK throws it as an {@link OutOfMemoryError} "unable to create native
 * thread" from {@link Thread#start}: no exception, so code that catches exceptions alone let it end the supervisor's
 * task unseen, a worker's output thread never started, and its slot stayed STARTING for good (found by an attacking
 * helper). Stateless; any thread.
 */
public final class OutOfThreads {

    /** The start of the JDK's message (HotSpot's, since JDK 7), which a worker cannot write into. */
    private static final String UNABLE_TO_CREATE_THREAD = "unable to create native thread";

    /** How deep a cause chain is searched. */
    private static final int MAX_DEPTH = 8;

    /** What an operator is told to look at, after what failed. */
    public static final String LIMITS = "the master is out of threads: its user's process limit (ulimit -u), the "
            + "container's pids limit or systemd's TasksMax; a worker that forks without end uses them up";

    private OutOfThreads() {
    }

    /** Whether {@code failure}, or one of its causes, is the JDK's refusal to start a thread. Null is false. */
    public static boolean causedIt(Throwable failure) {
        Throwable cause = failure;
        for (int depth = 0; cause != null && depth < MAX_DEPTH; depth++, cause = cause.getCause()) {
            if (cause instanceof OutOfMemoryError && cause.getMessage() != null
                    && cause.getMessage().startsWith(UNABLE_TO_CREATE_THREAD)) {
                return true;
            }
        }
        return false;
    }
}
