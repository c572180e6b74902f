package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiConsumer;

/**
 * Replaces workers before they cause trouble: past {@code fleet.worker.max-memory} of resident memory, or after
 * {@code fleet.worker.max-requests} (plus a per-worker jitter, gunicorn's rule, so they do not all go at once).
 * Through the surge-first replacement and drain, one worker at a time; but a worker past twice
 * {@code max-memory} is stopped at once, replacement or not (the limit is a ceiling: a worker leaking faster than
 * its successor gets READY grew without bound, found by an attacking helper's worker at 50 MiB a second). Runs on
 * the supervisor's thread.
 */
@Slf4j
final class Recycler {

    private final FleetProperties.Worker config;
    private final FleetEvents events;
    private final FleetMetrics metrics;
    /** Stops a worker now, with the reason, as a failed liveness probe does; it is restarted by the exit rules. */
    private final BiConsumer<Worker, String> stopNow;

    Recycler(FleetProperties.Worker config, FleetEvents events, FleetMetrics metrics, BiConsumer<Worker, String> stopNow) {
        this.config = config;
        this.events = events;
        this.metrics = metrics;
        this.stopNow = stopNow;
    }

    /** The request count after which a new worker process is recycled; 0 for no limit. */
    long requestLimit() {
        if (config.maxRequests() <= 0) {
            return 0;
        }
        long jitter = config.maxRequestsJitter() > 0 ? ThreadLocalRandom.current().nextLong(config.maxRequestsJitter() + 1) : 0;
        return config.maxRequests() + jitter;
    }

    void check(List<Worker> workers, RollingReload reload) {
        // Each worker's tree is read once a check: the ceiling and the recycle below use the same figure.
        Map<Worker, Long> resident = new HashMap<>();
        if (config.maxMemory() != null) {
            long ceiling = 2 * config.maxMemory().toBytes();
            for (Worker worker : List.copyOf(workers)) {
                if (worker.state() != WorkerState.READY && worker.state() != WorkerState.DRAINING) {
                    continue;
                }
                Optional<Long> bytes = worker.process().residentBytes();
                bytes.ifPresent(value -> resident.put(worker, value));
                if (bytes.isPresent() && bytes.get() > ceiling) {
                    String reason = "resident memory " + mebibytes(bytes.get()) + " above twice "
                            + "fleet.worker.max-memory " + mebibytes(config.maxMemory().toBytes());
                    log.warn("Stopping worker {} (pid {}) at once: {}", worker.id, worker.pid(), reason);
                    stopNow.accept(worker, reason);
                }
            }
        }
        boolean replacing = workers.stream().anyMatch(worker -> worker.replacing() != null);
        if (replacing || reload.busy()) {
            return;
        }
        for (Worker worker : List.copyOf(workers)) {
            if (worker.state() == WorkerState.READY && worker.holdsSlot()) {
                Optional<Reason> reason = reasonToRecycle(worker, resident.get(worker));
                if (reason.isPresent()) {
                    String text = reason.get().text();
                    events.add(Type.RECYCLING, worker.id, worker.pid(), "worker " + worker.id + " recycled: " + text);
                    metrics.countRecycle(reason.get().tag());
                    log.info("Recycling worker {} (pid {}): {}", worker.id, worker.pid(), text);
                    reload.replace(worker);
                    return;
                }
            }
        }
    }

    /** Why a worker is recycled: the metric's tag ({@link FleetMetrics#countRecycle}) and the words of the event. */
    private record Reason(String tag, String text) {
    }

    /** {@code resident}: the worker's resident bytes read by this check, or null when unknown. */
    private Optional<Reason> reasonToRecycle(Worker worker, Long resident) {
        long served = worker.endpoint().requests();
        if (worker.requestLimit() > 0 && served >= worker.requestLimit()) {
            return Optional.of(new Reason(FleetMetrics.RECYCLED_FOR_REQUESTS, "served " + served
                    + " requests (fleet.worker.max-requests " + config.maxRequests() + ")"));
        }
        if (config.maxMemory() != null && resident != null && resident > config.maxMemory().toBytes()) {
            return Optional.of(new Reason(FleetMetrics.RECYCLED_FOR_MEMORY, "resident memory " + mebibytes(resident)
                    + " above fleet.worker.max-memory " + mebibytes(config.maxMemory().toBytes())));
        }
        return Optional.empty();
    }

    /**
     * {@code bytes} in MiB with at most one decimal, as {@code shepherd ls} shows memory ({@code 62.8 MiB}): Spring's
     * "MB", in which max-memory is given ({@code 60MB}, PM2's {@code 60M}), is 1024 * 1024 bytes too, so one unit
     * reads the same figure everywhere (a new user saw "78 MB" in the event and "62.8 MiB" in ls).
     */
    static String mebibytes(long bytes) {
        String number = String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024));
        return (number.endsWith(".0") ? number.substring(0, number.length() - 2) : number) + " MiB";
    }
}
