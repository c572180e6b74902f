package dev.shepherd.admin;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.WorkerFleetService;
import lombok.extern.slf4j.Slf4j;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Live fleet events as server-sent events. Events are recorded on the supervisor's thread; they are written to
 * clients from a thread of their own, so a slow client never holds up the supervisor.
 */
@Slf4j
@Component
class FleetEventStream implements SmartLifecycle {

    private static final Duration HEARTBEAT = Duration.ofSeconds(15);

    private final WorkerFleetService fleet;
    private final Set<SseEmitter> open = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "fleet-events-sse");
        thread.setDaemon(true);
        return thread;
    });
    private volatile boolean running;

    FleetEventStream(WorkerFleetService fleet) {
        this.fleet = fleet;
    }

    /** A comment every 15 s, so that a client who left is noticed and its stream released. */
    @Override
    public void start() {
        running = true;
        sender.scheduleWithFixedDelay(() -> open.forEach(emitter -> {
            try {
                emitter.send(SseEmitter.event().comment("ping"));
            } catch (IOException | IllegalStateException ex) {
                open.remove(emitter);
            }
        }), HEARTBEAT.toMillis(), HEARTBEAT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Ends every open stream before the admin port's graceful shutdown, which would otherwise wait for them. */
    @Override
    public void stop() {
        running = false;
        open.forEach(SseEmitter::complete);
        open.clear();
        sender.shutdownNow();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE;
    }

    SseEmitter open() {
        SseEmitter emitter = new SseEmitter(0L);
        open.add(emitter);
        Consumer<FleetEvent> listener = new Consumer<>() {
            @Override
            public void accept(FleetEvent event) {
                sender.execute(() -> send(emitter, event, this));
            }
        };
        emitter.onCompletion(() -> close(emitter, listener));
        emitter.onTimeout(() -> close(emitter, listener));
        emitter.onError(error -> close(emitter, listener));
        fleet.events().subscribe(listener);
        sender.execute(() -> {
            try {
                emitter.send(SseEmitter.event().comment("connected"));
            } catch (IOException ex) {
                fleet.events().unsubscribe(listener);
            }
        });
        return emitter;
    }

    private void close(SseEmitter emitter, Consumer<FleetEvent> listener) {
        open.remove(emitter);
        fleet.events().unsubscribe(listener);
    }

    private void send(SseEmitter emitter, FleetEvent event, Consumer<FleetEvent> listener) {
        try {
            emitter.send(SseEmitter.event().id(Long.toString(event.seq())).name("fleet").data(event));
        } catch (IOException | IllegalStateException ex) {
            log.debug("SSE client left: {}", ex.getMessage());
            close(emitter, listener);
        }
    }
}
