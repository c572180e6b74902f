package dev.shepherd.fleet;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a worker spec's secrets are masked wherever the master shows or logs it ({@code GET /fleet}, the start and
 * restore log lines). A variable whose name contains, in any case, {@code TOKEN}, {@code SECRET}, {@code PASSWORD},
 * {@code PASSWD}, {@code KEY} or {@code CREDENTIAL} (the words of Spring Boot's {@code SanitizingFunction} defaults),
 * {@code PASSPHRASE}, {@code PRIVATE}, {@code AUTH}, {@code DSN}, {@code SIGNING} or {@code SALT} (found missing by an
 * attacking helper: {@code SENTRY_DSN}, {@code JWT_SIGNING}), or is {@code VCAP_SERVICES} or
 * {@code SPRING_APPLICATION_JSON} (dots and dashes count as underscores), has its value shown as {@link #MASK}. Any
 * other value has the password of a URL masked ({@code postgres://app:******@db/shop},
 * {@code jdbc:postgresql://app:******@db/shop}), as Spring Boot 2's sanitizer did in properties named url or uri,
 * or its whole user info when it has no password, which may be the key itself ({@code https://******@sentry.io/1}). A command's arguments get the same rules: the value of an option
 * named like a secret, in the same argument ({@code --db.password=******}, {@code -Dapi.key=******}) or as the next
 * one ({@code --token ******}, unless that one is an option itself), and a URL's password anywhere, also inside an
 * argument that holds a whole shell command ({@code sh -c "node app.js --token=******"}); and the password of curl's
 * {@code user:password} options ({@code -u app:******}, {@code --proxy-user=app:******}). Not recognised: values
 * glued to a short option ({@code mysql -pSECRET}) and secrets in free text such as a header line.
 */
public final class Secrets {

    public static final String MASK = "******";
    private static final List<String> SECRET_WORDS = List.of("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL",
            "PASSPHRASE", "PRIVATE", "AUTH", "DSN", "SIGNING", "SALT");
    private static final Set<String> SECRET_NAMES = Set.of("VCAP_SERVICES", "SPRING_APPLICATION_JSON");
    /**
     * The password of a URL's user info, {@code postgres://app:PASSWORD@db/shop}, up to the last {@code @}: one written
     * with an {@code @}, {@code /} or {@code #} unencoded is masked whole (a port before a path's {@code @} may be too).
     */
    private static final Pattern URL_PASSWORD = Pattern.compile("^([A-Za-z][A-Za-z0-9+.:-]*://[^/?#@:]*:).*(@[^@]*)$",
            Pattern.DOTALL);
    /** A header line, {@code Authorization: Bearer abc}: its value is masked whole when its name is a secret's. */
    private static final Pattern HEADER_LINE = Pattern.compile("^([A-Za-z0-9_-]+:\\s*)(\\S.*)$", Pattern.DOTALL);
    /** A URL's user info without a password, which may itself be the key: {@code https://KEY@sentry.io/1}. */
    private static final Pattern URL_USER = Pattern.compile("^([A-Za-z][A-Za-z0-9+.:-]*://)[^/?#@:]+(@.*)$",
            Pattern.DOTALL);
    /** An option with its value in the same word: {@code --name=value}, {@code -Dname=value}, {@code name=value}. */
    private static final Pattern OPTION_WITH_VALUE = Pattern.compile("^(-{0,2}D?)([^=\\s]+)=(.*)$", Pattern.DOTALL);
    /**
     * An option whose value may be the next word, such as {@code --token}; a header's name named like a secret
     * ({@code Authorization:}, {@code X-Api-Key:}) and the schemes {@code Bearer} and {@code Basic} are followed by
     * one too ({@code curl -H "Authorization: Bearer ******"}).
     */
    private static final Pattern OPTION = Pattern.compile("^--?[A-Za-z][A-Za-z0-9_.-]*$");
    /**
     * curl's options whose value ends in {@code :password}: {@code -u}/{@code --user}, {@code -U}/{@code
     * --proxy-user} ({@code user:password}), {@code -E}/{@code --cert} and {@code --proxy-cert}
     * ({@code file:password}). Only after a word that is curl, and only what follows the first colon is masked:
     * other programs' {@code -u} ({@code docker run -u 1000:1000}, {@code sudo -u www}) show as they are.
     */
    private static final Set<String> USER_PASSWORD_OPTIONS = Set.of("-u", "--user", "-U", "--proxy-user", "-E", "--cert",
            "--proxy-cert");
    private static final Pattern WORD = Pattern.compile("\\S+");
    private static final String QUOTES = "\"'`";

    private Secrets() {
    }

    /** Whether the value of the variable or option {@code name} is masked whole. */
    public static boolean secretName(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        String normalized = upper.replaceFirst("^-+", "").replace('.', '_').replace('-', '_');
        return SECRET_NAMES.contains(normalized) || SECRET_WORDS.stream().anyMatch(upper::contains)
                // DB_PASS, REDIS_PASS, MYSQL_PWD (not PWD, the shell's directory), --pass, --pw
                || normalized.endsWith("PASS") || normalized.endsWith("_PWD") || normalized.equals("PW");
    }

    /**
     * The value of the variable {@code name} as shown: masked whole for a secret's name, else read as a command's
     * arguments are, since options hold secrets too ({@code JAVA_TOOL_OPTIONS=-Djavax.net.ssl.trustStorePassword=…},
     * {@code NODE_OPTIONS}).
     */
    public static String environmentValue(String name, String value) {
        return secretName(name) ? MASK : optionValue(value);
    }

    /** The command line as shown: the program (first) as it is, the arguments masked. */
    public static List<String> command(List<String> command) {
        if (command.isEmpty()) {
            return command;
        }
        List<String> shown = new ArrayList<>(command.size());
        shown.add(command.get(0));
        shown.addAll(words(command.subList(1, command.size()), curl(unquoted(command.get(0)))));
        return shown;
    }

    /** Whether {@code word} names curl, as a program or a path to it. */
    private static boolean curl(String word) {
        return word.equals("curl") || word.endsWith("/curl");
    }

    private static List<String> words(List<String> words) {
        return words(words, false);
    }

    /** {@code words} as shown; {@code afterCurl}: curl is the program they are the arguments of. */
    private static List<String> words(List<String> words, boolean afterCurl) {
        List<String> shown = new ArrayList<>(words.size());
        boolean valueOfSecret = false;
        boolean userPassword = false;
        boolean curl = afterCurl;
        for (String word : words) {
            // Quotes the shell removes do not hide an option ('--token' abc).
            String unquoted = unquoted(word);
            Matcher withValue = OPTION_WITH_VALUE.matcher(word);
            Matcher header = HEADER_LINE.matcher(unquoted);
            if (valueOfSecret && !unquoted.startsWith("--")) {
                // When unsure, masked: a value may start with a dash (--password -s3cret).
                shown.add(masked(word));
            } else if (userPassword && !unquoted.startsWith("-") && unquoted.indexOf(':') >= 0) {
                shown.add(passwordMasked(word));
            } else if (header.matches() && (secretName(header.group(1)) || header.group(1).regionMatches(true, 0, "Cookie", 0, 6))) {
                shown.add(word.substring(0, word.indexOf(unquoted)) + header.group(1) + MASK
                        + word.substring(word.indexOf(unquoted) + unquoted.length()));
            } else if (withValue.matches()) {
                String option = withValue.group(1) + withValue.group(2);
                shown.add(option + "=" + (secretName(withValue.group(2)) ? masked(withValue.group(3))
                        : curl && USER_PASSWORD_OPTIONS.contains(option) ? passwordMasked(withValue.group(3))
                        : optionValue(withValue.group(3))));
            } else if (WORD.matcher(word).results().count() > 1) {
                shown.add(inShellCommand(word));
            } else {
                shown.add(withoutUrlPassword(word));
            }
            curl |= curl(unquoted);
            userPassword = curl && USER_PASSWORD_OPTIONS.contains(unquoted);
            valueOfSecret = (OPTION.matcher(unquoted).matches() || unquoted.endsWith(":")) && secretName(unquoted)
                    || unquoted.equalsIgnoreCase("Bearer") || unquoted.equalsIgnoreCase("Basic");
        }
        return shown;
    }

    /**
     * An argument that holds several words, such as a shell command: each word masked, the spaces kept. Words are
     * split as a POSIX shell splits them, so that a quoted value with spaces is one word ({@code --token="a b"}).
     */
    private static String inShellCommand(String argument) {
        List<int[]> spans = shellWords(argument);
        if (spans.size() == 1) {
            // One word with spaces in quotes: a whole command quoted once more ("node app.js --token=abc") is
            // looked into; any other such word is a value.
            String word = argument.substring(spans.get(0)[0], spans.get(0)[1]);
            char first = word.charAt(0);
            if (word.length() > 1 && (first == '"' || first == '\'') && word.charAt(word.length() - 1) == first) {
                return argument.substring(0, spans.get(0)[0]) + first + inShellCommand(word.substring(1, word.length() - 1))
                        + first + argument.substring(spans.get(0)[1]);
            }
            return withoutUrlPassword(argument);
        }
        List<String> words = new ArrayList<>(spans.size());
        for (int[] span : spans) {
            words.add(argument.substring(span[0], span[1]));
        }
        List<String> shown = words(words);
        StringBuilder text = new StringBuilder(argument.length());
        int at = 0;
        for (int i = 0; i < spans.size(); i++) {
            text.append(argument, at, spans.get(i)[0]).append(shown.get(i));
            at = spans.get(i)[1];
        }
        return text.append(argument, at, argument.length()).toString();
    }

    /**
     * Where the words of {@code text} start and end: whitespace outside quotes ends a word; single quotes hold
     * anything up to the next one, double quotes up to the next unescaped one; a backslash outside single quotes
     * escapes the next character. An unclosed quote runs to the end.
     */
    private static List<int[]> shellWords(String text) {
        List<int[]> spans = new ArrayList<>();
        int start = -1;
        char quote = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote == 0 && Character.isWhitespace(c)) {
                if (start >= 0) {
                    spans.add(new int[] {start, i});
                    start = -1;
                }
                continue;
            }
            if (start < 0) {
                start = i;
            }
            if (c == '\\' && quote != '\'') {
                i++;
            } else if (quote == 0 && (c == '\'' || c == '"')) {
                quote = c;
            } else if (c == quote) {
                quote = 0;
            }
        }
        if (start >= 0) {
            spans.add(new int[] {start, text.length()});
        }
        return spans;
    }

    /** {@code user:password} as shown, {@code user:******}; a value without a colon as it is. */
    private static String passwordMasked(String value) {
        int colon = value.indexOf(':');
        return colon < 0 ? value : value.substring(0, colon + 1) + masked(value.substring(colon + 1));
    }

    /**
     * {@link #MASK} in place of a secret value, keeping the shell's quotes around it: in
     * {@code sh -c "node app.js --token=abc"} the last word is {@code --token=abc"}, or {@code --token='abc'}.
     */
    private static String masked(String value) {
        String secret = unquoted(value);
        // Quotes only, an empty secret: "" shows as "******".
        int start = secret.isEmpty() ? value.length() / 2 : value.indexOf(secret);
        return value.substring(0, start) + MASK + value.substring(start + secret.length());
    }

    /**
     * A value that is not a secret's, as shown: read as an argument itself when it holds words (a header line, a
     * command); else a chain of {@code name=value} ({@code --data=token=t1}) masked from the first secret name on.
     * A loop, not a recursion: an argument of 64 KB of {@code a=} must not overflow the stack of {@code GET /fleet}.
     */
    private static String optionValue(String value) {
        if (HEADER_LINE.matcher(value).matches()) {
            return words(List.of(value)).get(0);
        }
        if (WORD.matcher(value).results().limit(2).count() > 1) {
            return inShellCommand(value);
        }
        int at = 0;
        for (int equals = value.indexOf('=', at); equals > at; equals = value.indexOf('=', at)) {
            if (secretName(value.substring(at, equals))) {
                return value.substring(0, equals + 1) + masked(value.substring(equals + 1));
            }
            at = equals + 1;
        }
        return value.substring(0, at) + withoutUrlPassword(value.substring(at));
    }

    /** {@code word} without the quotes around it: {@code 'postgres://…'} is a URL to the shell. */
    private static String unquoted(String word) {
        int start = 0;
        while (start < word.length() && QUOTES.indexOf(word.charAt(start)) >= 0) {
            start++;
        }
        int end = word.length();
        while (end > start && QUOTES.indexOf(word.charAt(end - 1)) >= 0) {
            end--;
        }
        return word.substring(start, end);
    }

    private static String withoutUrlPassword(String value) {
        String url = unquoted(value);
        String before = value.substring(0, value.indexOf(url));
        String after = value.substring(value.indexOf(url) + url.length());
        Matcher password = URL_PASSWORD.matcher(url);
        return before + (password.matches() ? password.replaceFirst("$1" + MASK + "$2")
                : URL_USER.matcher(url).replaceFirst("$1" + MASK + "$2")) + after;
    }
}
