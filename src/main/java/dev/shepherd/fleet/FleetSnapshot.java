package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerState;

import java.util.List;

/**
 * The fleet at one moment, immutable. The proxy reads {@link #ready()} on every request without a lock.
 */
public final class FleetSnapshot {

    private final long version;
    private final int desired;
    private final List<WorkerSnapshot> workers;
    private final Endpoint[] ready;
    private final ReloadStatus reload;

    FleetSnapshot(long version, int desired, List<WorkerSnapshot> workers, Endpoint[] ready, ReloadStatus reload) {
        this.version = version;
        this.desired = desired;
        this.workers = List.copyOf(workers);
        this.ready = ready;
        this.reload = reload;
    }

    static FleetSnapshot empty(int desired) {
        return new FleetSnapshot(0, desired, List.of(), new Endpoint[0], ReloadStatus.IDLE);
    }

    public long version() {
        return version;
    }

    public int desired() {
        return desired;
    }

    public List<WorkerSnapshot> workers() {
        return workers;
    }

    /** The endpoints in rotation. Shared, never modified: callers must not write to it. */
    public Endpoint[] ready() {
        return ready;
    }

    public ReloadStatus reload() {
        return reload;
    }

    /** Requests the workers are serving now. */
    public int inFlight() {
        return workers.stream().mapToInt(WorkerSnapshot::inFlight).sum();
    }

    /** Tunnels (WebSockets) open to the workers now. */
    public int tunnels() {
        return workers.stream().mapToInt(WorkerSnapshot::tunnels).sum();
    }

    public long count(WorkerState state) {
        return workers.stream().filter(worker -> worker.state() == state).count();
    }
}
