package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerState;

import java.util.Arrays;
import java.util.List;

/**
 * The fleet at one moment, immutable. The proxy reads {@link #ready()} on every request without a lock.
 *
 * <p>A new snapshot is published whenever something in it changed, and only then: a worker's state, the desired
 * count, the reload, and the rotation, which the proxy changes too (a dead process or refusals take a worker out;
 * the fleet hears of it as an event and publishes). Between the proxy's ejection and that publication the proxy
 * skips the ejected endpoint by {@link Endpoint#isAccepting()}.
 */
public final class FleetSnapshot {

    private final long version;
    private final int desired;
    private final List<WorkerSnapshot> workers;
    private final Endpoint[] ready;
    private final ReloadStatus reload;
    private final WorkerSpec spec;
    private final List<Generation> generations;

    FleetSnapshot(long version, int desired, List<WorkerSnapshot> workers, Endpoint[] ready, ReloadStatus reload,
                  WorkerSpec spec, List<Generation> generations) {
        this.version = version;
        this.desired = desired;
        this.workers = List.copyOf(workers);
        this.ready = ready;
        this.reload = reload;
        this.spec = spec;
        this.generations = List.copyOf(generations);
    }

    static FleetSnapshot empty(int desired, WorkerSpec spec) {
        return new FleetSnapshot(0, desired, List.of(), new Endpoint[0], ReloadStatus.IDLE, spec,
                List.of(new Generation(1, true, 0, spec)));
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

    /**
     * The endpoints in the proxy's rotation when the snapshot was taken: READY workers that the proxy has not
     * ejected. Shared, never modified: callers must not write to it.
     */
    public Endpoint[] ready() {
        return ready;
    }

    /**
     * How many workers the proxy routes to at the moment of the call: the endpoints of {@link #ready()} that the proxy
     * has not ejected since (a dead process or refusals, seen on its event loops or by the process reaper, which
     * the fleet hears of only after), the same test the proxy's {@link Endpoint#tryAcquire} makes. What
     * {@code /fleet}'s {@code ready}, the health and the page count. Any thread.
     */
    public int inRotation() {
        int accepting = 0;
        for (Endpoint endpoint : ready) {
            if (endpoint.isAccepting()) {
                accepting++;
            }
        }
        return accepting;
    }

    /** Whether {@code other} shows the same fleet (its version aside): then there is nothing new to publish. */
    boolean sameAs(FleetSnapshot other) {
        return desired == other.desired && workers.equals(other.workers) && Arrays.equals(ready, other.ready)
                && reload.equals(other.reload) && spec.equals(other.spec) && generations.equals(other.generations);
    }

    /** What the current generation runs: new workers (scale, crash restarts of its workers, replace) start with it. */
    public WorkerSpec spec() {
        return spec;
    }

    /** Every generation that still has a worker, plus the current one, oldest first. */
    public List<Generation> generations() {
        return generations;
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
