package dev.shepherd;

import java.util.Locale;

/** How a user may write a signal's name. No logger: the command line uses it too. */
public final class SignalNames {

    private SignalNames() {
    }

    /**
     * A signal's name as written by a user ({@code sigterm}, {@code SIGKILL}, {@code  term }): upper case, without
     * {@code SIG}, as {@code kill -l} lists it. One rule for {@code fleet.worker.stop-signal}, the admin API and the
     * command line (found by a new user's attack: each took another spelling). Null stays null.
     */
    public static String of(String given) {
        return given == null ? null : given.strip().toUpperCase(Locale.ROOT).replaceFirst("^SIG", "");
    }
}
