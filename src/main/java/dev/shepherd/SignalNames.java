package dev.shepherd;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** How a user may write a signal's name, and which signals an operator may send a worker. No logger: the command line uses it too. */
public final class SignalNames {

    /**
     * The signals {@code POST /fleet/workers/{id}/signal}, {@code POST /fleet/signal} and {@code shepherd signal} send,
     * in {@code kill -l}'s order: those an app handles to do something and keep running (reopen its logs, reload its
     * configuration, write a heap snapshot or a thread dump, start its inspector). TERM and KILL stop a worker and are
     * {@code kill}'s; STOP and its kin freeze it (see {@link #refusal}); any other is refused.
     */
    public static final List<String> REQUESTS = List.of("HUP", "INT", "QUIT", "USR1", "USR2");

    /** Their numbers, as Linux numbers them on x86, ARM and most other architectures (kill -l). */
    private static final Map<String, String> NUMBERS = Map.of("1", "HUP", "2", "INT", "3", "QUIT", "10", "USR1",
            "12", "USR2", "9", "KILL", "15", "TERM", "18", "CONT", "19", "STOP", "20", "TSTP");

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

    /** A signal's name as {@link #of} writes it, a number ({@code 9}, {@code 15}) turned into its name. */
    public static String named(String given) {
        return number(of(given));
    }

    /**
     * One of {@link #REQUESTS} as {@code given} names it, in any case, with or without {@code SIG}, or by its number
     * ({@code usr2}, {@code SIGUSR2}, {@code 12}); null when it names none of them (or nothing).
     */
    public static String request(String given) {
        String name = number(of(given));
        return name != null && REQUESTS.contains(name) ? name : null;
    }

    /** The signals taken, for a refusal: follows "signal must be". */
    public static final String TAKEN = "one of " + String.join(", ", REQUESTS) + " (any case, with or without SIG, or "
            + "its number: 1, 2, 3, 10, 12)";

    /**
     * Why {@code given}, not one of {@link #REQUESTS}, is refused, when it names a signal that is known: to follow the
     * refusal, from "; " on; empty otherwise.
     */
    public static String whyNot(String given) {
        String name = number(of(given));
        return name == null ? "" : switch (name) {
            case "TERM", "KILL" -> "; " + name + " stops a worker: that is kill (POST /fleet/workers/{id}/kill, "
                    + "shepherd kill ID --signal " + name + ")";
            case "CONT" -> "; CONT resumes a frozen worker, and no signal sent here freezes one (after its stop signal, "
                    + "the master sends CONT itself)";
            case "STOP", "TSTP", "TTIN", "TTOU" -> "; " + name + " freezes a worker, which then keeps its slot and its "
                    + "connections, answers nothing, fails its liveness probe and is killed";
            default -> "";
        };
    }

    /** The name of a signal given by its number (as Linux numbers it), else {@code name} as it is. */
    private static String number(String name) {
        return name == null ? null : NUMBERS.getOrDefault(name, name);
    }
}
