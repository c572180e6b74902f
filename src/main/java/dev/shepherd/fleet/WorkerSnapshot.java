package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.WorkerState;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * One worker as it was when the snapshot was taken. {@code index} is its stable instance number 0..N-1 (see
 * {@code SHEPHERD_WORKER_INDEX}); {@code endpoint} is the live handle on its current process (in-flight and served
 * counters), or null when no process runs; {@code restartAt}, when a BACKOFF or FAILED worker's restart is due, or
 * null when none is armed; {@code lastExitCause}, what {@code lastExit} meant (a crash, a startup timeout…), null
 * with it; {@code reason}, why it is in its state, when there is one to say: a STARTING worker's last readiness probe
 * failure, a stopping or draining one's stop reason; else null.
 */
public record WorkerSnapshot(int id, int index, long pid, int port, WorkerState state, long generation, int restarts,
                             Instant startedAt, long requestsBefore, WorkerExit lastExit, ExitCause lastExitCause, String reason,
                             Endpoint endpoint, ChildProcess process, Instant restartAt) {

    /** Resident memory of the worker's process tree, read now. */
    public Optional<Long> residentBytes() {
        return process == null ? Optional.empty() : process.residentBytes();
    }

    /** CPU time of the worker's process, read now. */
    public Optional<Duration> cpuTime() {
        return process == null ? Optional.empty() : process.cpuTime();
    }

    public int inFlight() {
        return endpoint == null ? 0 : endpoint.inFlight();
    }

    /** Tunnels (WebSockets) open to the worker's process now. */
    public int tunnels() {
        return endpoint == null ? 0 : endpoint.tunnels();
    }

    /**
     * Whether the worker's process was seen sending bytes nobody asked for, and gets a new connection per request
     * ({@link Endpoint#markOutOfStep}); false when no process runs.
     */
    public boolean outOfStep() {
        return endpoint != null && endpoint.outOfStep();
    }

    /** Requests answered by this worker id, over all its processes. */
    public long requests() {
        return requestsBefore + (endpoint == null ? 0 : endpoint.requests());
    }
}
