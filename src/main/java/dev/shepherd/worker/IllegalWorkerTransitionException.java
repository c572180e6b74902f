package dev.shepherd.worker;

import lombok.Getter;

/** A lifecycle transition that {@link WorkerState} does not allow: always a bug in the supervisor. */
@Getter
public class IllegalWorkerTransitionException extends IllegalStateException {

    private final int workerId;
    private final WorkerState from;
    private final WorkerState to;

    public IllegalWorkerTransitionException(int workerId, WorkerState from, WorkerState to) {
        super("Worker " + workerId + " cannot move from " + from + " to " + to);
        this.workerId = workerId;
        this.from = from;
        this.to = to;
    }
}
