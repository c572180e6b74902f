package dev.shepherd;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code shepherd start}'s notes about what runs other than as typed, told once every argument is checked: a note is
 * no refusal, and the start goes on.
 */
final class StartNotes {

    private StartNotes() {
    }

    /**
     * A note on {@code err} when no PROGRAM was given ({@code command} empty): two new users typed a bare {@code start}
     * to see its usage, as {@code pm2 start} shows it, and got a master serving the demo worker on every interface.
     */
    static void tellNoProgram(List<String> command, PrintWriter err) {
        if (command.isEmpty()) {
            err.println("shepherd start: no PROGRAM given, so the workers run fleet.worker.command from the "
                    + "configuration, else the built-in demo worker (shepherd start --help shows how to give one; "
                    + "Ctrl-C stops the master)");
            err.flush();
        }
    }

    /**
     * A note on {@code err} when a state file ({@code --set fleet.state-file=...} among {@code settings}, or {@code
     * FLEET_STATE_FILE} in {@code env}) holds a saved fleet, which the master runs instead of the PROGRAM
     * ({@code command}) and {@code -i} ({@code instances}) typed: a new user's {@code start -i 1 python3 app.py} ran
     * three node workers, with one INFO line to say why (PM2 restores only on {@code pm2 resurrect}). A note, not a
     * refusal: coming back as it was is what the file is for.
     */
    static void warnOfSavedState(List<String> command, String instances, Map<String, String> settings,
                                 PrintWriter err, Map<String, String> env) {
        if (command.isEmpty() && instances == null) {
            return;
        }
        String file = settings.entrySet().stream()
                .filter(setting -> StartSettings.uniform(setting.getKey()).equals("fleet.statefile"))
                .map(Map.Entry::getValue).findFirst().orElse(env.get("FLEET_STATE_FILE"));
        try {
            if (file == null || file.isBlank() || !Files.isRegularFile(Path.of(file))) {
                return;
            }
        } catch (InvalidPathException noPath) {
            return;
        }
        err.println("shepherd start: " + TerminalText.safe(file) + " (fleet.state-file) holds a saved fleet, which runs "
                + "instead of " + (command.isEmpty() ? "-i" : instances == null ? "PROGRAM" : "PROGRAM and -i")
                + " (its count, command, environment and directory): delete it to run what you typed");
        err.flush();
    }
}
