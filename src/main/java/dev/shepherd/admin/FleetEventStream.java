package dev.shepherd.admin;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.WorkerFleetService;
import lombok.extern.slf4j.Slf4j;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Live fleet events as server-sent events. Events are recorded on the supervisor's thread; they are written to
 * clients from a thread of their own, so a slow client never holds up the supervisor.
 */
@Slf4j
@Component
class FleetEventStream {

    private final WorkerFleetService fleet;
    private final ExecutorService sender = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "fleet-events-sse");
        thread.setDaemon(true);
        return thread;
    });

    FleetEventStream(WorkerFleetService fleet) {
        this.fleet = fleet;
    }

    SseEmitter open() {
        SseEmitter emitter = new SseEmitter(0L);
        Consumer<FleetEvent> listener = new Consumer<>() {
            @Override
            public void accept(FleetEvent event) {
                sender.execute(() -> send(emitter, event, this));
            }
        };
        emitter.onCompletion(() -> fleet.events().unsubscribe(listener));
        emitter.onTimeout(() -> fleet.events().unsubscribe(listener));
        emitter.onError(error -> fleet.events().unsubscribe(listener));
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

    private void send(SseEmitter emitter, FleetEvent event, Consumer<FleetEvent> listener) {
        try {
            emitter.send(SseEmitter.event().id(Long.toString(event.seq())).name("fleet").data(event));
        } catch (IOException | IllegalStateException ex) {
            log.debug("SSE client left: {}", ex.getMessage());
            fleet.events().unsubscribe(listener);
        }
    }
}
