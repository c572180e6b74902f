package dev.shepherd.fleet;

import io.netty.channel.unix.Errors;

import java.net.SocketException;

/**
 * Tells a failure of the master's own, out of file descriptors ({@code EMFILE}, {@code ENFILE}), from a worker's: a
 * socket the master could not even open says nothing of the worker it was for, and must count neither towards its
 * liveness failures nor towards its ejection. Judged the worker's, 1,000 slow uploads that held the master's
 * descriptors got healthy workers killed, and then ejected (attacking helpers, 2026-12-03 and 04).
 */
public final class OutOfDescriptors {

    /**
     * The text Linux and macOS give {@code EMFILE} and {@code ENFILE} ("Too many open files", "... in system"), which
     * the JDK puts in the {@link java.net.SocketException} a socket it could not open throws, and Netty's native
     * transports in their {@code NativeIoException} ("newSocketStream(..) failed: Too many open files").
     */
    private static final String TOO_MANY_OPEN_FILES = "Too many open files";

    /** How deep a cause chain is searched: a socket's failure is wrapped a few times at most. */
    private static final int MAX_DEPTH = 8;

    private OutOfDescriptors() {
    }

    /**
     * Whether {@code failure}, or one of its causes, says the master is out of file descriptors: a {@link
     * SocketException} whose message starts so (the JDK's own text), or Netty's {@link Errors.NativeIoException}
     * (a call's name and the system's error string). Never another exception's message, which may quote what a worker
     * sent (an HTTP client's "invalid status line"). Any thread; null is false.
     */
    public static boolean causedIt(Throwable failure) {
        Throwable cause = failure;
        for (int depth = 0; cause != null && depth < MAX_DEPTH; depth++, cause = cause.getCause()) {
            String message = cause.getMessage();
            if (message != null && (cause instanceof SocketException && message.startsWith(TOO_MANY_OPEN_FILES)
                    || cause instanceof Errors.NativeIoException && message.contains(TOO_MANY_OPEN_FILES))) {
                return true;
            }
        }
        return false;
    }
}
