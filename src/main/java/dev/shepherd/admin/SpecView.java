package dev.shepherd.admin;

import dev.shepherd.fleet.Generation;
import dev.shepherd.fleet.WorkerSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A generation's {@link WorkerSpec} as {@code GET /fleet} shows it, with secrets masked: the value of a variable
 * whose name contains (in any case) {@code TOKEN}, {@code SECRET}, {@code PASSWORD}, {@code PASSWD}, {@code KEY} or
 * {@code CREDENTIAL}, or is {@code VCAP_SERVICES} or {@code SPRING_APPLICATION_JSON}, shows as {@link #MASK} (the
 * words of Spring Boot's {@code SanitizingFunction} defaults); in any other value, the password of a URL
 * ({@code postgres://app:******@db/shop}), as Spring Boot 2's sanitizer masked it in properties named url or uri.
 * The command's arguments get the same: the value of an option named like a secret, given as one argument
 * ({@code --db.password=******}, {@code -Dapi.key=******}) or as the next one ({@code --token ******}), and the
 * password of a URL in any argument. An empty {@code command} is the built-in demo worker; a null
 * {@code workingDirectory} the master's.
 */
record SpecView(List<String> command, Map<String, String> environment, String workingDirectory, String readinessPath) {

    static final String MASK = "******";
    private static final List<String> SECRET_WORDS = List.of("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL");
    private static final Set<String> SECRET_NAMES = Set.of("VCAP_SERVICES", "SPRING_APPLICATION_JSON");
    /** The password of a URL's user info, {@code postgres://app:PASSWORD@db/shop}, whatever the variable's name. */
    private static final Pattern URL_PASSWORD = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)[^/?#@]*(@.*)$",
            Pattern.DOTALL);

    /** An option with its value in the same argument: {@code --name=value}, {@code -Dname=value}, {@code name=value}. */
    private static final Pattern OPTION_WITH_VALUE = Pattern.compile("^(-{0,2}D?)([^=\\s]+)=(.*)$", Pattern.DOTALL);
    /** An option whose value may be the next argument, such as {@code --token}. */
    private static final Pattern OPTION = Pattern.compile("^--?[A-Za-z][A-Za-z0-9_.-]*$");

    static SpecView of(WorkerSpec spec) {
        Map<String, String> environment = new TreeMap<>();
        spec.environment().forEach((name, value) -> environment.put(name, secret(name) ? MASK : withoutUrlPassword(value)));
        return new SpecView(command(spec.command()), environment,
                spec.workingDirectory() == null ? null : spec.workingDirectory().toString(), spec.readinessPath());
    }

    /** The program (first) is shown as it is; options named like a secret have their values masked. */
    private static List<String> command(List<String> arguments) {
        List<String> shown = new ArrayList<>(arguments.size());
        boolean valueOfSecret = false;
        for (int i = 0; i < arguments.size(); i++) {
            String argument = arguments.get(i);
            Matcher option = OPTION_WITH_VALUE.matcher(argument);
            if (i > 0 && valueOfSecret) {
                shown.add(MASK);
            } else if (i > 0 && option.matches() && secret(option.group(2))) {
                shown.add(option.group(1) + option.group(2) + "=" + MASK);
            } else {
                shown.add(withoutUrlPassword(argument));
            }
            valueOfSecret = i > 0 && !valueOfSecret && OPTION.matcher(argument).matches() && secret(argument);
        }
        return shown;
    }

    private static String withoutUrlPassword(String value) {
        return URL_PASSWORD.matcher(value).replaceFirst("$1" + MASK + "$2");
    }

    /** Whether the value of the variable {@code name} is masked. */
    static boolean secret(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        return SECRET_NAMES.contains(upper) || SECRET_WORDS.stream().anyMatch(upper::contains);
    }

    /** One entry of {@code generations} in {@code GET /fleet}. */
    record GenerationView(long generation, boolean current, int workers, SpecView spec) {

        static GenerationView of(Generation generation) {
            return new GenerationView(generation.generation(), generation.current(), generation.workers(),
                    SpecView.of(generation.spec()));
        }
    }
}
