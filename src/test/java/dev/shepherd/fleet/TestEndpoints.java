package dev.shepherd.fleet;

/** Real {@link Endpoint}s for tests outside the fleet package, on the test JVM's own (live) process. */
public final class TestEndpoints {

    private TestEndpoints() {
    }

    /** An endpoint in rotation with a concurrency limit (0: none) that calls {@code onSlotFreed} on each release. */
    public static Endpoint accepting(int workerId, int maxConcurrency, Runnable onSlotFreed) {
        Endpoint endpoint = new Endpoint(workerId, ProcessHandle.current(), 40_000 + workerId, maxConcurrency, () -> { },
                onSlotFreed);
        endpoint.startAccepting();
        return endpoint;
    }

    /** An endpoint in rotation, without a concurrency limit, for the worker of stable index (slot) {@code index}. */
    public static Endpoint accepting(int workerId, int index, int maxConcurrency) {
        Endpoint endpoint = new Endpoint(workerId, index, ProcessHandle.current(), 40_000 + workerId, maxConcurrency,
                () -> { }, () -> { });
        endpoint.startAccepting();
        return endpoint;
    }

    /** Puts an endpoint (back) in rotation, as a READY worker or a good probe after an ejection does. */
    public static void startAccepting(Endpoint endpoint) {
        endpoint.startAccepting();
    }

    /** Takes an endpoint out of rotation, as a drain does. */
    public static void stopAccepting(Endpoint endpoint) {
        endpoint.stopAccepting();
    }
}
