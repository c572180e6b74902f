package dev.shepherd.fleet;

import dev.shepherd.Plural;
import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.Command;
import dev.shepherd.fleet.SupervisorEvent.Kill;
import dev.shepherd.fleet.SupervisorEvent.Reload;
import dev.shepherd.fleet.SupervisorEvent.Replace;
import dev.shepherd.fleet.SupervisorEvent.Scale;
import dev.shepherd.fleet.SupervisorEvent.ScaleBy;
import dev.shepherd.fleet.SupervisorEvent.Signal;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.nio.file.Path;
import java.util.List;

/**
 * The rules of the admin commands (scale, reload, replace, kill, signal): when each is refused, and what it asks of the
 * {@link Supervisor}. Each command's reply completes with its result or with the {@link FleetExceptions} that says
 * why it was refused. Runs on the supervisor's thread.
 */
@Slf4j
final class FleetCommands {

    private final Supervisor supervisor;
    private final FleetEvents events;

    FleetCommands(Supervisor supervisor, FleetEvents events) {
        this.supervisor = supervisor;
        this.events = events;
    }

    void execute(Command<?> command) {
        if (command.reply() instanceof CommandReply<?> reply && !reply.begin()) {
            return; // withdrawn: its sender was told that nothing changed
        }
        try {
            // A kill or a signal still goes while the workers stop: a thread dump (QUIT) of one slow to stop, say.
            if (supervisor.stopBegun && !(command instanceof Kill) && !(command instanceof Signal)) {
                throw new FleetExceptions.FleetConflictException("The master is shutting down: its workers drain and "
                        + "stop, and it takes no reload, scale or replace");
            }
            if (command instanceof Scale scale) {
                int before = supervisor.desired;
                scale(scale.workers());
                answer(scale, before);
            } else if (command instanceof ScaleBy by) {
                int before = supervisor.desired;
                int target = before + by.change();
                if (target < 1 || target > by.max()) {
                    throw new IllegalArgumentException(target < 1 ? "the fleet has 1 worker, the fewest"
                            : "the fleet has " + Plural.of(before, "worker") + ", fleet.max-workers");
                }
                scale(target);
                answer(by, before);
            } else if (command instanceof Reload reload) {
                // Checked here, against the spec current when the command is handled, before anything starts.
                if (reload.patch().environment() != null) {
                    supervisor.launchSpecs.checkReloadEnvironment(reload.patch().environment());
                }
                supervisor.reload.start(reload.patch().applyTo(supervisor.spec, Path.of("").toAbsolutePath()));
                answer(reload, supervisor.reload.status());
            } else if (command instanceof SupervisorEvent.Undo undo) {
                supervisor.reload.undo();
                answer(undo, supervisor.reload.status());
            } else if (command instanceof Replace replace) {
                answer(replace, replace(replace.workerId()));
            } else if (command instanceof Kill kill) {
                supervisor.signal(find(kill.workerId()), kill.signal());
                answer(kill, null);
            } else if (command instanceof Signal signal) {
                answer(signal, signal.workerId() == null ? supervisor.requestSignalAll(signal.signal())
                        : List.of(supervisor.requestSignal(find(signal.workerId()), signal.signal(),
                        "POST /fleet/workers/" + signal.workerId() + "/signal")));
            }
        } catch (RuntimeException ex) {
            supervisor.afterPublish(() -> command.reply().completeExceptionally(ex));
        }
    }

    /** Once the snapshot is published: whoever got the answer and reads the fleet reads the command's effect. */
    private <T> void answer(Command<T> command, T result) {
        supervisor.afterPublish(() -> command.reply().complete(result));
    }

    private void scale(int workers) {
        if (supervisor.reload.busy()) {
            throw supervisor.reload.refusal("scale");
        }
        int before = supervisor.desired;
        if (workers == before) {
            // Answered as done, as kubectl scale and a PUT are (the fleet wants that many), but nothing happened: an
            // event or a log line saying "scaled from 3 to 3" would tell of a change (a new user's scale +0).
            log.debug("Scale to {} workers: the fleet wants that many already, nothing changes", workers);
            return;
        }
        supervisor.desired = workers;
        events.add(Type.SCALED, 0, 0, "scaled from " + before + " to " + Plural.of(workers, "worker"));
    }

    private int replace(int workerId) {
        Worker old = find(workerId);
        if (supervisor.reload.busy()) {
            // The reload replaces it anyway; a replacement of its own that failed after the reload passed its slot
            // would give the slot back to an old-generation worker under a reload that says it succeeded.
            throw supervisor.reload.refusal("replace worker " + workerId);
        }
        // An EXITED worker (restart policy never or on-failure) is started again this way, as pm2 restart does:
        // nothing else but a reload would.
        if (!old.holdsSlot() || old.state() != WorkerState.READY && old.state() != WorkerState.EXITED) {
            throw new FleetExceptions.FleetConflictException(old.replacedBy() != null
                    ? "Worker " + workerId + " is already being replaced by worker " + old.replacedBy().id
                    : "Worker " + workerId + " is " + old.state() + "; only a READY worker can be replaced, or an "
                    + "EXITED one started again" + switch (old.state()) {
                        // Where to go from here (a new user was left without: pm2 restart takes an errored app).
                        case FAILED -> ". It is started again after its backoff (at most fleet.restart.max-backoff); to "
                                + "run another command or environment, reload (POST /fleet/reload, shepherd reload "
                                + "--command ...)";
                        case BACKOFF -> ". It starts again by itself when its backoff ends";
                        case STARTING -> ". Replace it once it is READY";
                        default -> "";
                    });
        }
        Worker fresh = supervisor.reload.replace(old);
        if (supervisor.find(fresh.id).isEmpty()) {
            // Its launch failed at once and it was rolled back: answering with its id would name a worker already gone.
            throw new FleetExceptions.CannotStartException("The replacement of worker " + workerId + " (worker " + fresh.id
                    + ") " + fresh.lastExit().reason() + "; worker " + workerId
                    + (old.state() == WorkerState.EXITED ? " stays EXITED" : " serves on"));
        }
        return fresh.id;
    }

    private Worker find(int workerId) {
        return supervisor.find(workerId).orElseThrow(() -> supervisor.departures.noSuchWorker(workerId,
                supervisor.workers.stream().map(Worker::snapshot).toList()));
    }
}
