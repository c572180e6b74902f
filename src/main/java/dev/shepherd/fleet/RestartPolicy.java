package dev.shepherd.fleet;

/** Which exits of a worker are followed by a restart. */
public enum RestartPolicy {
    /** Keep the desired count: restart after any exit the master did not ask for. */
    ALWAYS,
    /** The seed's rule: restart only after a non-zero exit code or a signal. */
    ON_FAILURE,
    /** Never restart; the worker stays EXITED. */
    NEVER
}
