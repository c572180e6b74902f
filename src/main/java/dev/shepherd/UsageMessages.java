package dev.shepherd;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * picocli's messages for a few usage errors, reworded in the command line's own terms: "Unmatched argument at index
 * 1: 'extra'" spoke of an index, a word the command line uses for a worker's stable index, and a map option's wrong
 * value said "Value for option option '--env' (NAME=VALUE) should be in KEY=VALUE format" (found by a new user).
 * Any other message is returned as it is.
 */
public final class UsageMessages {

    private static final Pattern UNMATCHED = Pattern.compile("Unmatched arguments? (?:at|from) index \\d+: (.*)",
            Pattern.DOTALL);
    private static final Pattern KEY_VALUE = Pattern.compile(
            "Value for option option '(--?[\\w-]+)' \\(([^)]*)\\) should be in KEY=VALUE format but was (.*)",
            Pattern.DOTALL);

    private UsageMessages() {
    }

    /** {@code message} reworded when it is one of picocli's above, else as it is. */
    public static String reword(String message) {
        if (message == null) {
            return null;
        }
        Matcher unmatched = UNMATCHED.matcher(message);
        if (unmatched.matches()) {
            String arguments = unmatched.group(1);
            return (arguments.contains("', '") ? "unexpected arguments " : "unexpected argument ") + arguments;
        }
        Matcher keyValue = KEY_VALUE.matcher(message);
        if (keyValue.matches()) {
            return keyValue.group(1) + " wants " + keyValue.group(2) + ", not '" + keyValue.group(3) + "'";
        }
        return message;
    }
}
