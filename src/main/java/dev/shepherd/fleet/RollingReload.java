package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.time.Clock;
import java.util.ArrayDeque;

/**
 * Surge-first replacement of workers: start the new one, wait until it is READY, only then drain the old one.
 * A rolling reload replaces every worker that way, one at a time, so the READY count never drops below the
 * desired count; a new worker that never gets READY is killed and the old ones keep serving. Runs on the
 * supervisor's thread.
 */
@Slf4j
final class RollingReload {

    private final Supervisor supervisor;
    private final FleetEvents events;
    private final Clock clock;
    private final SupervisorQueue loop;
    private final ArrayDeque<Integer> queue = new ArrayDeque<>();
    private ReloadStatus status = ReloadStatus.IDLE;
    private long generation = 1;
    /** The new worker of the reload step under way. */
    private Worker stepWorker;

    RollingReload(Supervisor supervisor, FleetEvents events, Clock clock, SupervisorQueue loop) {
        this.supervisor = supervisor;
        this.events = events;
        this.clock = clock;
        this.loop = loop;
    }

    long generation() {
        return generation;
    }

    ReloadStatus status() {
        return status;
    }

    void start() {
        if (status.running()) {
            throw new FleetExceptions.ReloadInProgressException(status);
        }
        generation++;
        queue.clear();
        supervisor.workers.stream().filter(Worker::holdsSlot).forEach(worker -> queue.add(worker.id));
        status = new ReloadStatus(ReloadStatus.State.RUNNING, generation, queue.size(), 0, clock.instant(), null, null);
        events.add(Type.RELOAD_STARTED, 0, 0, "reload to generation " + generation + " started: " + queue.size() + " workers to replace");
        log.info("Rolling reload to generation {}: {} workers to replace", generation, queue.size());
        step();
    }

    private void step() {
        while (!queue.isEmpty()) {
            Worker old = supervisor.find(queue.poll()).orElse(null);
            if (old != null && old.holdsSlot() && old.generation < generation) {
                // The step's worker is known before it spawns: a spawn that fails at once fails the reload.
                stepWorker = successorOf(old);
                supervisor.spawner.spawn(stepWorker);
                return;
            }
        }
        stepWorker = null;
        status = new ReloadStatus(ReloadStatus.State.SUCCEEDED, generation, status.total(), status.replaced(),
                status.startedAt(), clock.instant(), null);
        events.add(Type.RELOAD_SUCCEEDED, 0, 0, "reload to generation " + generation + " finished: "
                + status.replaced() + " workers replaced");
        log.info("Rolling reload to generation {} finished", generation);
    }

    /** Starts a new worker to take over from {@code old}, which keeps serving until the new one is READY. */
    Worker replace(Worker old) {
        Worker fresh = successorOf(old);
        supervisor.spawner.spawn(fresh);
        return fresh;
    }

    private Worker successorOf(Worker old) {
        Worker fresh = supervisor.newWorker(generation, WorkerIndexes.forReplacement(old));
        Worker.replaces(fresh, old);
        return fresh;
    }

    void onReady(Worker fresh) {
        Worker old = fresh.replacing();
        if (old != null) {
            loop.post(new SupervisorEvent.SuccessorReady(old, fresh));
        }
    }

    /**
     * {@code fresh} takes over from {@code old}, in an event after the one that made {@code fresh} READY, if it is
     * still READY: {@code old} leaves the rotation and the fleet (unless it left already), then a reload takes its
     * next step, so that a finished reload has no old worker in the rotation.
     */
    void retireReplaced(Worker old, Worker fresh) {
        if (fresh.replacing() != old || fresh.state() != WorkerState.READY) {
            // It is not READY any more (its exit, handled since, rolled the replacement back): the old one serves on.
            return;
        }
        fresh.tookOver();
        // Still in the fleet: an EXITED worker the restart policy left there is removed too.
        if (supervisor.workers.contains(old) && !old.retiring()) {
            supervisor.drains.retire(old, "replaced by worker " + fresh.id);
        }
        if (fresh == stepWorker) {
            status = new ReloadStatus(ReloadStatus.State.RUNNING, generation, status.total(), status.replaced() + 1,
                    status.startedAt(), null, null);
            events.add(Type.RELOAD_STEP, fresh.id, fresh.pid(), "reload: worker " + old.id + " replaced by worker " + fresh.id
                    + " (" + status.replaced() + " of " + status.total() + ")");
            step();
        }
    }

    /** The new worker exited before it took over: the old one holds its slot again; a reload stops there. */
    void onFailed(Worker fresh, String reason) {
        Worker old = fresh.replacing();
        fresh.replacementFailed();
        if (fresh == stepWorker) {
            fail(reason);
        } else {
            log.warn("Replacement of worker {} failed ({}); it keeps serving", old == null ? "?" : old.id, reason);
            if (status.running() && old != null && old.generation < generation) {
                // Started before this reload, so not in its queue: the old worker holds its slot again, replace it too.
                queue.add(old.id);
            }
        }
    }

    void cancel(String reason) {
        if (status.running()) {
            fail(reason);
        }
    }

    private void fail(String reason) {
        queue.clear();
        stepWorker = null;
        status = new ReloadStatus(ReloadStatus.State.FAILED, generation, status.total(), status.replaced(),
                status.startedAt(), clock.instant(), reason);
        events.add(Type.RELOAD_FAILED, 0, 0, "reload to generation " + generation + " failed and was rolled back: " + reason);
        log.warn("Rolling reload to generation {} failed: {}; the remaining old workers keep serving", generation, reason);
    }
}
