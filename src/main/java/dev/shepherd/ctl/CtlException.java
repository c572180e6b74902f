package dev.shepherd.ctl;

/** An error the command line reports as one line that says what to do, ending with a non-zero exit code. */
class CtlException extends RuntimeException {

    private final int exitCode;

    CtlException(String message) {
        this(message, Ctl.FAILED);
    }

    CtlException(String message, int exitCode) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
