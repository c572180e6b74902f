package dev.shepherd.fleet;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** The recent lifecycle events, bounded, newest last; and live listeners for them (the SSE stream). */
public final class FleetEvents {

    private final int capacity;
    private final Clock clock;
    private final ArrayDeque<FleetEvent> recent;
    private final List<Consumer<FleetEvent>> listeners = new CopyOnWriteArrayList<>();
    private long seq;

    FleetEvents(int capacity, Clock clock) {
        this.capacity = capacity;
        this.clock = clock;
        this.recent = new ArrayDeque<>(capacity);
    }

    void add(FleetEvent.Type type, int workerId, long pid, String message) {
        FleetEvent event;
        synchronized (this) {
            event = new FleetEvent(++seq, clock.instant(), type, workerId, pid, message);
            if (recent.size() == capacity) {
                recent.removeFirst();
            }
            recent.addLast(event);
        }
        listeners.forEach(listener -> listener.accept(event));
    }

    public synchronized List<FleetEvent> recent() {
        return List.copyOf(recent);
    }

    /** Calls {@code listener} with every new event, on the thread that records it, until it is removed. */
    public void subscribe(Consumer<FleetEvent> listener) {
        listeners.add(listener);
    }

    public void unsubscribe(Consumer<FleetEvent> listener) {
        listeners.remove(listener);
    }
}
