package dev.shepherd.admin;

import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.WorkerState;
import io.swagger.v3.oas.annotations.media.Schema;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The JSON of {@code GET /fleet}.
 *
 * @param desired workers the fleet keeps running
 * @param ready workers in the proxy's rotation
 * @param actual workers with a running process
 * @param reload progress of the latest rolling reload
 * @param traffic request totals of the proxy
 * @param generations every generation that still has a worker, plus the current one, oldest first, each with its
 *                    spec (secrets masked: {@link SpecView})
 */
record FleetView(int desired, int ready, int actual, ReloadStatus reload, Traffic traffic,
                 List<SpecView.GenerationView> generations, List<WorkerView> workers) {

    static FleetView of(FleetSnapshot snapshot, Traffic traffic, Clock clock) {
        List<WorkerView> workers = snapshot.workers().stream().map(worker -> WorkerView.of(worker, clock)).toList();
        int actual = (int) snapshot.workers().stream().filter(worker -> worker.state().hasProcess()).count();
        return new FleetView(snapshot.desired(), snapshot.inRotation(), actual, snapshot.reload(), traffic,
                snapshot.generations().stream().map(SpecView.GenerationView::of).toList(), workers);
    }

    /**
     * Totals since the master started, for rates: requests answered through the proxy, and of those the ones
     * that failed (the proxy's own 502/503/504 and workers' 5xx).
     */
    record Traffic(long requests, long failures) {
    }

    /**
     * One worker, as {@code GET /fleet} and {@code GET /fleet/workers/{id}} show it; {@code index} is its stable
     * instance number 0..N-1 ({@code SHEPHERD_WORKER_INDEX}), {@code id} the one that only counts up;
     * {@code tunnels}: connections to it that switched protocols (WebSockets), open now; {@code outOfStep}: its
     * process was seen sending bytes nobody asked for (a late second response), and gets a new connection per request
     * until it is replaced; {@code restartInMillis}: how
     * long until a BACKOFF or FAILED worker starts again (null when no restart is due), as {@code kubectl describe}
     * says "Back-off restarting failed container" with its delay; {@code reason}: why it is in its state, when there
     * is something to say (a STARTING worker's last readiness probe failure, as {@code kubectl describe} shows
     * "Readiness probe failed"; a stopping one's stop reason), else null.
     */
    record WorkerView(int id, int index, long pid, int port, WorkerState state,
                      @Schema(nullable = true) String reason, long generation, int restarts,
                      @Schema(nullable = true) Instant startedAt, @Schema(nullable = true) Long uptimeMillis,
                      int inFlight, int tunnels, boolean outOfStep, long requests,
                      @Schema(nullable = true) Long memoryBytes,
                      @Schema(nullable = true) Long cpuTimeMillis, @Schema(nullable = true) ExitView lastExit,
                      @Schema(nullable = true) Long restartInMillis) {

        static WorkerView of(WorkerSnapshot worker, Clock clock) {
            boolean running = worker.state().hasProcess() && worker.startedAt() != null;
            return new WorkerView(worker.id(), worker.index(), worker.pid(), worker.port(), worker.state(), worker.reason(),
                    worker.generation(),
                    worker.restarts(), worker.startedAt(),
                    running ? Duration.between(worker.startedAt(), clock.instant()).toMillis() : null,
                    worker.inFlight(), worker.tunnels(), worker.outOfStep(), worker.requests(),
                    worker.residentBytes().orElse(null),
                    worker.cpuTime().map(Duration::toMillis).orElse(null),
                    worker.lastExit() == null ? null : ExitView.of(worker.lastExit()),
                    worker.restartAt() == null ? null
                            : Math.max(0, Duration.between(clock.instant(), worker.restartAt()).toMillis()));
        }
    }

    /** How the worker's previous process ended. */
    record ExitView(long pid, int code, @Schema(nullable = true) String signal, Instant at, long uptimeMillis, String reason,
                    List<String> lastLines, @Schema(nullable = true) String errorLine) {

        static ExitView of(WorkerExit exit) {
            return new ExitView(exit.pid(), exit.code(), exit.signal(), exit.at(), exit.uptime().toMillis(), exit.reason(),
                    exit.lastLines(), exit.errorLine());
        }
    }
}
