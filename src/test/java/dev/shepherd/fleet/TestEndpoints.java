package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerState;

import java.util.ArrayList;
import java.util.List;

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

    /** An endpoint in rotation, with a concurrency limit (0: none), for the worker of stable index (slot) {@code index}. */
    public static Endpoint accepting(int workerId, int index, int maxConcurrency) {
        return accepting(workerId, index, maxConcurrency, () -> { });
    }

    /** Like {@link #accepting(int, int, int)}, calling {@code onSlotFreed} on each release. */
    public static Endpoint accepting(int workerId, int index, int maxConcurrency, Runnable onSlotFreed) {
        Endpoint endpoint = new Endpoint(workerId, index, ProcessHandle.current(), 40_000 + workerId, maxConcurrency,
                () -> { }, onSlotFreed);
        endpoint.startAccepting();
        return endpoint;
    }

    /** An endpoint in rotation for {@code process}, which a test may end to make the worker die. */
    public static Endpoint accepting(int workerId, ProcessHandle process) {
        Endpoint endpoint = new Endpoint(workerId, process, 40_000 + workerId, () -> { });
        endpoint.startAccepting();
        return endpoint;
    }

    /** Puts an endpoint (back) in rotation, as a READY worker or a good probe after an ejection does. */
    public static void startAccepting(Endpoint endpoint) {
        endpoint.startAccepting();
    }

    /** Takes an endpoint out of rotation as an outlier, as the supervisor does when it ejects one. */
    public static void ejectAsOutlier(Endpoint endpoint) {
        endpoint.outlierJudged(true);
    }

    /** Takes an endpoint out of rotation, as a drain does. */
    public static void stopAccepting(Endpoint endpoint) {
        endpoint.stopAccepting();
    }

    /** Takes an endpoint out of rotation but lets its sticky sessions' requests in, as a drain does. */
    public static void startDraining(Endpoint endpoint) {
        endpoint.startDraining();
    }

    /** Whether a draining endpoint's drain may end now, as the supervisor asks it; ends its sticky admission then. */
    public static boolean drained(Endpoint endpoint) {
        return endpoint.drained();
    }

    /** A snapshot with {@code ready} in rotation and {@code draining} as DRAINING workers. */
    public static FleetSnapshot snapshot(Endpoint[] ready, Endpoint... draining) {
        List<WorkerSnapshot> workers = new ArrayList<>();
        for (Endpoint endpoint : ready) {
            workers.add(worker(endpoint, WorkerState.READY));
        }
        for (Endpoint endpoint : draining) {
            workers.add(worker(endpoint, WorkerState.DRAINING));
        }
        WorkerSpec spec = new WorkerSpec(List.of(), java.util.Map.of(), null, "/health");
        return new FleetSnapshot(1, ready.length, workers, ready, ReloadStatus.IDLE, spec,
                List.of(new Generation(1, true, workers.size(), spec)));
    }

    /** Like {@link #snapshot}, plus READY workers out of rotation (ejected): in the workers, not in {@code ready()}. */
    public static FleetSnapshot snapshotWithReadyOutOfRotation(Endpoint[] ready, Endpoint... out) {
        FleetSnapshot base = snapshot(ready);
        List<WorkerSnapshot> workers = new ArrayList<>(base.workers());
        for (Endpoint endpoint : out) {
            workers.add(worker(endpoint, WorkerState.READY));
        }
        return new FleetSnapshot(2, ready.length + out.length, workers, ready, ReloadStatus.IDLE, base.spec(),
                base.generations());
    }

    /** Like {@link #snapshot}, plus a worker in BACKOFF (no process, so no endpoint) at each of {@code indexes}. */
    public static FleetSnapshot snapshotWithSlotsBackingOff(Endpoint[] ready, int... indexes) {
        FleetSnapshot base = snapshot(ready);
        List<WorkerSnapshot> workers = new ArrayList<>(base.workers());
        for (int index : indexes) {
            workers.add(new WorkerSnapshot(1000 + index, index, 0, 0, WorkerState.BACKOFF, 1, 1, null, 0, null, null,
                    null, null, null, null));
        }
        return new FleetSnapshot(2, ready.length + indexes.length, workers, ready, ReloadStatus.IDLE, base.spec(),
                base.generations());
    }

    private static WorkerSnapshot worker(Endpoint endpoint, WorkerState state) {
        return new WorkerSnapshot(endpoint.workerId(), endpoint.index(), endpoint.pid(), endpoint.port(), state, 1, 0,
                null, 0, null, null, null, endpoint, null, null);
    }
}
