package dev.shepherd.fleet;

import java.time.Clock;

/** A real {@link FleetEvents} for tests outside the package, with the supervisor's side (record, publish) opened up. */
public final class PublishedEvents {

    private final FleetEvents events;

    public PublishedEvents(int capacity) {
        this.events = new FleetEvents(capacity, Clock.systemUTC());
    }

    public FleetEvents events() {
        return events;
    }

    /** Records {@code count} events and publishes them, as the supervisor does at the end of one event. */
    public void publish(int count) {
        for (int i = 0; i < count; i++) {
            events.add(FleetEvent.Type.SCALED, 0, 0, "event");
        }
        events.publish();
    }
}
