package dev.shepherd;

/**
 * Text that came from outside (a worker's output lines, exit reasons, event messages, problem details, in the CLI and
 * in the master's own log) made safe to print on a terminal: a worker controls those bytes, and an escape sequence in them could clear the screen,
 * rewrite what the operator sees, set the clipboard ({@code ESC ] 52}) or reach a terminal emulator's bugs.
 * Every C0 control character but tab, and DEL, is shown in caret notation ({@code ESC} as {@code ^[}, CR as
 * {@code ^M}), as {@code cat -v} and kubectl (kubernetes/kubernetes#112553) show them; a C1 control character
 * (U+0080 to U+009F, which some terminals obey as well) as {@code \u009B}, and so is a bidirectional formatting
 * character (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which reorders what is shown after it
 * ("Trojan Source", CVE-2021-42574: a line that reads as one thing and is another), and the line and paragraph
 * separators U+2028 and U+2029, which log viewers, editors and JavaScript break a line at (a forged line after
 * them, found by an attacking helper). {@code --json} output needs
 * none of this: JSON escapes C0 itself, and it is for programs.
 */
public final class TerminalText {

    private TerminalText() {
    }

    public static String safe(String text) {
        if (text == null || text.chars().noneMatch(TerminalText::control)) {
            return text;
        }
        StringBuilder safe = new StringBuilder(text.length() + 8);
        text.chars().forEach(c -> {
            if (!control(c)) {
                safe.append((char) c);
            } else if (c < 0x20 || c == 0x7F) {
                safe.append('^').append((char) (c ^ 0x40));
            } else {
                safe.append(String.format("\\u%04X", c));
            }
        });
        return safe.toString();
    }

    /** Whether {@code c} is shown escaped: a control character but tab, a bidirectional formatting one, U+2028, U+2029. */
    public static boolean control(int c) {
        return c != '\t' && (c < 0x20 || c >= 0x7F && c <= 0x9F) || bidi(c) || c == 0x2028 || c == 0x2029;
    }

    private static boolean bidi(int c) {
        return c == 0x061C || c == 0x200E || c == 0x200F || c >= 0x202A && c <= 0x202E || c >= 0x2066 && c <= 0x2069;
    }
}
