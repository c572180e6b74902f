package dev.shepherd.fleet;

import lombok.extern.slf4j.Slf4j;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The end of every supervisor event: reconcile desired and actual workers, then publish the fleet as an immutable
 * {@link FleetSnapshot} through one {@link AtomicReference} if, and only if, something in it changed, and tell the
 * listeners. Publishing runs on the supervisor's thread; {@link #current()} is lock-free from any thread.
 */
@Slf4j
final class SnapshotPublisher {

    private final AtomicReference<FleetSnapshot> current;
    private final List<Consumer<FleetSnapshot>> listeners = new CopyOnWriteArrayList<>();
    private long version;

    SnapshotPublisher(int desired, WorkerSpec spec) {
        this.current = new AtomicReference<>(FleetSnapshot.empty(desired, spec));
    }

    FleetSnapshot current() {
        return current.get();
    }

    void addListener(Consumer<FleetSnapshot> listener) {
        listeners.add(listener);
    }

    void removeListener(Consumer<FleetSnapshot> listener) {
        listeners.remove(listener);
    }

    /**
     * Then the events recorded on the way are seen and the commands answered, after the snapshot that shows them (even
     * when reconciling failed: a command's caller must not wait for nothing).
     */
    void reconcileAndPublish(Supervisor supervisor) {
        try {
            supervisor.reconcile();
            publish(supervisor.snapshot(version + 1));
        } finally {
            supervisor.published();
        }
    }

    private void publish(FleetSnapshot next) {
        if (next.sameAs(current.get())) {
            return;
        }
        version++;
        current.set(next);
        listeners.forEach(listener -> {
            try {
                listener.accept(next);
            } catch (RuntimeException ex) {
                log.warn("Snapshot listener failed", ex);
            }
        });
    }
}
