package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.worker.WorkerProcess;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.util.List;

/**
 * Readiness while a worker starts (with its startup timeout), liveness while it serves, and the ejection of a
 * worker that refuses connections. Probes run elsewhere; their results come back as supervisor tasks, and every
 * state change goes through the {@link Supervisor}. Runs on the supervisor's thread.
 */
@Slf4j
final class HealthChecks {

    private final FleetProperties properties;
    private final SupervisorLoop loop;
    private final Probe readiness;
    private final Probe liveness;
    private final FleetEvents events;
    private final Supervisor supervisor;

    HealthChecks(FleetProperties properties, SupervisorLoop loop, Probe readiness, Probe liveness, FleetEvents events,
                 Supervisor supervisor) {
        this.properties = properties;
        this.loop = loop;
        this.readiness = readiness;
        this.liveness = liveness;
        this.events = events;
        this.supervisor = supervisor;
    }

    /** Probes a new process until it is READY, and kills it if it is not by the startup timeout. */
    void watchStartup(Worker worker, WorkerProcess process) {
        worker.startupTimer = loop.schedule(() -> startupTimedOut(worker, process), properties.worker().startupTimeout());
        probeReadiness(worker, process);
    }

    private void probeReadiness(Worker worker, WorkerProcess process) {
        readiness.check(worker.port).thenAccept(result -> loop.post(() -> {
            if (!worker.isCurrent(process) || worker.state != WorkerState.STARTING) {
                return;
            }
            if (result.ok()) {
                supervisor.ready(worker);
            } else {
                worker.timer = loop.schedule(() -> probeReadiness(worker, process), properties.readiness().interval());
            }
        }));
    }

    private void startupTimedOut(Worker worker, WorkerProcess process) {
        if (!worker.isCurrent(process) || worker.state != WorkerState.STARTING) {
            return;
        }
        String reason = "not READY within " + properties.worker().startupTimeout().toMillis() + " ms";
        events.add(Type.STARTUP_TIMEOUT, worker.id, process.pid(), "worker " + worker.id + " " + reason + "; killed");
        worker.stopReason = reason;
        worker.moveTo(WorkerState.STOPPING);
        process.killTree();
    }

    /** One liveness round over the serving workers; called periodically. */
    void probeLiveness(List<Worker> workers) {
        for (Worker worker : workers) {
            if ((worker.state == WorkerState.READY || worker.state == WorkerState.DRAINING) && !worker.probing) {
                WorkerProcess process = worker.process;
                worker.probing = true;
                liveness.check(worker.port).thenAccept(result -> loop.post(() -> livenessResult(worker, process, result)));
            }
        }
    }

    private void livenessResult(Worker worker, WorkerProcess process, Probe.Result result) {
        worker.probing = false;
        if (!worker.isCurrent(process) || worker.state != WorkerState.READY && worker.state != WorkerState.DRAINING) {
            return;
        }
        if (result.ok()) {
            worker.livenessFailures = 0;
            if (worker.state == WorkerState.READY && !worker.endpoint.isAccepting()) {
                worker.endpoint.startAccepting();
                log.info("Worker {} answers its probe again; back in rotation", worker.id);
            }
            return;
        }
        worker.livenessFailures++;
        log.warn("Worker {} (pid {}) failed its liveness probe ({} of {}): {}", worker.id, process.pid(),
                worker.livenessFailures, properties.liveness().failureThreshold(), result.detail());
        if (worker.livenessFailures >= properties.liveness().failureThreshold()) {
            String reason = "liveness probe failed " + worker.livenessFailures + " times: " + result.detail();
            events.add(Type.LIVENESS_FAILED, worker.id, process.pid(), "worker " + worker.id + " " + reason);
            supervisor.stop(worker, reason);
        }
    }

    /** The proxy took a worker out after refused connections: probe it now, so a good answer brings it back. */
    void ejected(Worker worker, WorkerProcess process, List<Worker> workers) {
        if (worker.isCurrent(process) && worker.state == WorkerState.READY) {
            events.add(Type.EJECTED, worker.id, process.pid(), "worker " + worker.id + " refused connections "
                    + Endpoint.EJECT_AFTER_REFUSALS + " times in a row; out of rotation until a probe succeeds");
            probeLiveness(workers);
        }
    }
}
