package dev.shepherd.admin;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.WorkerFleetService;
import lombok.extern.slf4j.Slf4j;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Live fleet events as server-sent events (HTML Living Standard, "Server-sent events"), each with its
 * {@link FleetEvent#seq()} as the event id.
 *
 * <p>Bounded, since a client is outside: at most {@value #MAX_STREAMS} streams are open at once (one more is refused);
 * each stream has its own queue of at most {@value #QUEUE_LIMIT} events, written to its client by a thread of its own
 * while it has any, so that a client that reads slowly or not at all holds up only its own stream, never the
 * supervisor (which only queues) nor the other clients. A stream whose queue is full is ended once its last write
 * returns (the write times out with the admin port's connection timeout); its client reconnects with
 * {@code Last-Event-ID} and gets the events it missed that are still among the {@link
 * dev.shepherd.fleet.FleetEvents#recent() recent} ones, then the live ones, each once, in order.
 */
@Slf4j
@Component
class FleetEventStream implements SmartLifecycle {

    /** Streams open at once; the admin port takes 256 connections, this leaves most of them to everything else. */
    static final int MAX_STREAMS = 64;
    /**
     * Events queued for one client before its stream is ended: four times what the largest scale-up records at once
     * (1,024 workers spawned). The streams share the events; those a stuck stream still holds beyond the 1,000 recent
     * ones are at most this many, each message at most {@code FleetEvents.MESSAGE_LIMIT} characters.
     */
    static final int QUEUE_LIMIT = 4096;
    private static final Duration HEARTBEAT = Duration.ofSeconds(15);

    private final WorkerFleetService fleet;
    private final Supplier<SseEmitter> emitters;
    private final Set<Stream> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger reserved = new AtomicInteger();
    /** One thread per stream that has something to write, never more than the streams: no queue of its own. */
    private final ExecutorService writers = new ThreadPoolExecutor(0, MAX_STREAMS, 60, TimeUnit.SECONDS,
            new SynchronousQueue<>(), daemon("fleet-events-sse-"));
    private final ScheduledExecutorService heartbeat = Executors.newSingleThreadScheduledExecutor(daemon("fleet-events-heartbeat-"));
    private volatile boolean running;
    /** Set by {@link #stop()}, never cleared: unlike {@code running}, false too before the start (a request may come first). */
    private volatile boolean stopped;

    @Autowired
    FleetEventStream(WorkerFleetService fleet) {
        this(fleet, () -> new SseEmitter(0L));
    }

    FleetEventStream(WorkerFleetService fleet, Supplier<SseEmitter> emitters) {
        this.fleet = fleet;
        this.emitters = emitters;
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /** A comment every 15 s on a stream with nothing queued, so that a client who left is noticed and its stream released. */
    @Override
    public void start() {
        running = true;
        heartbeat.scheduleWithFixedDelay(() -> open.forEach(Stream::ping), HEARTBEAT.toMillis(), HEARTBEAT.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** Ends every open stream before the admin port's graceful shutdown, which would otherwise wait for them. */
    @Override
    public void stop() {
        stopped = true;
        running = false;
        heartbeat.shutdownNow();
        // Each ends on its writer, after a write in progress: completing blocks while one runs (up to its timeout).
        open.forEach(Stream::endSoon);
        writers.shutdown();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE;
    }

    /** Whether {@link #stop()} ran: streams are refused from then on. */
    boolean stopping() {
        return stopped;
    }

    /** Streams open now. */
    int openStreams() {
        return open.size();
    }

    /**
     * Opens a stream that first sends the recent events after {@code lastEventId} ({@link Long#MAX_VALUE}: none), then
     * every new one;
     * empty when {@value #MAX_STREAMS} are open already, or once stopping. Any thread.
     */
    Optional<SseEmitter> open(long lastEventId) {
        if (stopped) {
            // Stopping: a stream opened now would have no writer, and hold the graceful shutdown to its end.
            return Optional.empty();
        }
        if (reserved.incrementAndGet() > MAX_STREAMS) {
            reserved.decrementAndGet();
            return Optional.empty();
        }
        SseEmitter emitter = emitters.get();
        Stream stream = new Stream(emitter);
        open.add(stream);
        emitter.onCompletion(stream::closed);
        emitter.onTimeout(stream::closed);
        emitter.onError(error -> stream.closed());
        // Subscribed before anything is written: a client that has the response's head misses no later event.
        fleet.events().subscribe(stream, lastEventId);
        stream.startWriting();
        return Optional.of(emitter);
    }

    /** One client's stream: its queue, and at most one writer at a time. */
    private final class Stream implements Consumer<FleetEvent> {

        private final SseEmitter emitter;
        private final ArrayDeque<FleetEvent> queue = new ArrayDeque<>();
        private long lastQueued;
        /** The first write is a {@code :connected} comment, then the replayed events, then the live ones. */
        private boolean helloDue = true;
        private boolean pingDue;
        /** True until {@link #startWriting()}: events are queued, nobody writes yet. */
        private boolean writing = true;
        /** End the stream once the write in progress, if any, returns: its queue overflowed, or the master stops. */
        private boolean ending;
        private boolean closed;

        Stream(SseEmitter emitter) {
            this.emitter = emitter;
        }

        /** A new event, on the supervisor's thread (or a replayed one, at subscription): queued, never written here. */
        @Override
        public void accept(FleetEvent event) {
            synchronized (this) {
                if (closed || ending || event.seq() <= lastQueued) {
                    return;
                }
                lastQueued = event.seq();
                if (queue.size() < QUEUE_LIMIT) {
                    queue.add(event);
                } else {
                    log.info("Ending a fleet event stream: its client is {} events behind", QUEUE_LIMIT);
                    ending = true;
                    queue.clear();
                }
            }
            wake();
        }

        void endSoon() {
            synchronized (this) {
                ending = true;
                queue.clear();
            }
            wake();
        }

        void startWriting() {
            synchronized (this) {
                writing = false;
            }
            wake();
        }

        void ping() {
            synchronized (this) {
                if (closed || !queue.isEmpty()) {
                    return;
                }
                pingDue = true;
            }
            wake();
        }

        private void wake() {
            synchronized (this) {
                if (writing || closed) {
                    return;
                }
                writing = true;
            }
            try {
                writers.execute(this::write);
            } catch (RejectedExecutionException ex) {
                // Stopped: no writer will come, so the stream ends now rather than hold the graceful shutdown.
                end();
            }
        }

        private void write() {
            while (true) {
                FleetEvent event;
                boolean ping;
                boolean end;
                boolean hello;
                synchronized (this) {
                    hello = helloDue;
                    helloDue = false;
                    event = hello ? null : queue.poll();
                    ping = !hello && event == null && pingDue;
                    pingDue = false;
                    end = !hello && event == null && ending;
                    if (!hello && event == null && !ping && !end) {
                        writing = false;
                        return;
                    }
                }
                if (end) {
                    end();
                    return;
                }
                try {
                    emitter.send(hello ? SseEmitter.event().comment("connected") : ping ? SseEmitter.event().comment("ping")
                            : SseEmitter.event().id(Long.toString(event.seq())).name("fleet").data(event));
                } catch (IOException | IllegalStateException ex) {
                    log.debug("SSE client left: {}", ex.getMessage());
                    closed();
                    return;
                }
            }
        }

        private void end() {
            closed();
            try {
                emitter.complete();
            } catch (IllegalStateException ex) {
                log.debug("SSE stream already ended: {}", ex.getMessage());
            }
        }

        void closed() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                queue.clear();
            }
            fleet.events().unsubscribe(this);
            if (open.remove(this)) {
                reserved.decrementAndGet();
            }
        }
    }
}
