package dev.shepherd.fleet;

import lombok.extern.slf4j.Slf4j;
import org.slf4j.event.Level;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The recent lifecycle events, bounded, newest last; and live listeners for them (the SSE stream).
 *
 * <p>An event is recorded by the supervisor while it handles something, and seen (in {@link #recent()} and by the
 * listeners) only once {@link #publish()} runs, after the fleet snapshot that shows its effect is published: whoever
 * reads the fleet after seeing "reload finished" or "worker 3 draining" reads a fleet where that is so.
 */
@Slf4j
public final class FleetEvents {

    /**
     * The events no other line of the master's log tells, and how loud: an operator who reads the log (journald, a
     * file) and not the events learns there too that a worker was KILLed, crash-looped, failed its probes or left, as
     * gunicorn's log says "WORKER TIMEOUT" and PM2's "too many unstable restarts"; and that an operator sent one a
     * signal (kill, signal). The others have their own line
     * (an exit, a READY, a reload's step) or are steps of one (SPAWNED, DRAINING, STOPPING, RESTARTING).
     */
    private static final Map<FleetEvent.Type, Level> LOGGED = new EnumMap<>(Map.of(
            FleetEvent.Type.CRASH_LOOP, Level.WARN,
            FleetEvent.Type.KILL_TIMEOUT, Level.WARN,
            FleetEvent.Type.LIVENESS_FAILED, Level.WARN,
            FleetEvent.Type.STARTUP_TIMEOUT, Level.WARN,
            FleetEvent.Type.SCALED, Level.INFO,
            FleetEvent.Type.SIGNAL_SENT, Level.INFO,
            FleetEvent.Type.REMOVED, Level.INFO));

    /** The longest message an event keeps, in characters. */
    static final int MESSAGE_LIMIT = 2048;

    private final int capacity;
    private final Clock clock;
    private final ArrayDeque<FleetEvent> recent;
    /** Recorded, not yet seen: a handful per supervisor event, emptied at its end. */
    private final List<FleetEvent> pending = new ArrayList<>();
    private final List<Consumer<FleetEvent>> listeners = new CopyOnWriteArrayList<>();
    private long seq;

    FleetEvents(int capacity, Clock clock) {
        this.capacity = capacity;
        this.clock = clock;
        this.recent = new ArrayDeque<>(capacity);
    }

    /**
     * Records an event, numbered and timed now; it is seen at the next {@link #publish()}. A message longer than
     * {@value #MESSAGE_LIMIT} characters is cut there (it may quote what a client or a worker sent): the recent events
     * take a bounded amount of memory. A KILL, a crash loop, a failed probe, a scale, a signal sent on request and a removal are logged too
     * ({@link #LOGGED}), with the event's type first.
     */
    synchronized void add(FleetEvent.Type type, int workerId, long pid, String message) {
        String kept = message.length() <= MESSAGE_LIMIT ? message : cut(message, MESSAGE_LIMIT) + "… ("
                + (message.length() - MESSAGE_LIMIT) + " more characters)";
        pending.add(new FleetEvent(++seq, clock.instant(), type, workerId, pid, kept));
        Level level = LOGGED.get(type);
        if (level != null) {
            log.atLevel(level).log("{}: {}{}", type, kept, pid == 0 ? "" : " (pid " + pid + ")");
        }
    }

    /**
     * The first {@code limit} characters of {@code text}, one fewer when the cut would split a surrogate pair (an emoji):
     * a lone surrogate is not valid Unicode, and strict JSON parsers refuse it.
     */
    static String cut(String text, int limit) {
        int end = Character.isHighSurrogate(text.charAt(limit - 1)) ? limit - 1 : limit;
        return text.substring(0, end);
    }

    /**
     * Makes the events recorded since the last call seen: in {@link #recent()}, then by each listener, in order, on
     * the calling thread (the supervisor's, once the snapshot of the event that recorded them is published).
     */
    void publish() {
        List<FleetEvent> batch;
        synchronized (this) {
            if (pending.isEmpty()) {
                return;
            }
            batch = List.copyOf(pending);
            pending.clear();
            for (FleetEvent event : batch) {
                if (recent.size() == capacity) {
                    recent.removeFirst();
                }
                recent.addLast(event);
            }
        }
        batch.forEach(event -> listeners.forEach(listener -> listener.accept(event)));
    }

    public synchronized List<FleetEvent> recent() {
        return List.copyOf(recent);
    }

    /** Calls {@code listener} with every new event, on the thread that {@link #publish() publishes} it, until it is removed. */
    public void subscribe(Consumer<FleetEvent> listener) {
        listeners.add(listener);
    }

    /**
     * Calls {@code listener} first with the recent events numbered above {@code lastSeen}, oldest first, on the calling
     * thread, then as {@link #subscribe(Consumer)} does (the SSE {@code Last-Event-ID}). An event published meanwhile
     * may come twice, in order: the listener drops a number it has had.
     */
    public synchronized void subscribe(Consumer<FleetEvent> listener, long lastSeen) {
        recent.stream().filter(event -> event.seq() > lastSeen).forEach(listener);
        listeners.add(listener);
    }

    public void unsubscribe(Consumer<FleetEvent> listener) {
        listeners.remove(listener);
    }
}
