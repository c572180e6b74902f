package dev.shepherd.admin;

import dev.shepherd.fleet.Generation;
import dev.shepherd.fleet.WorkerSpec;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A generation's {@link WorkerSpec} as {@code GET /fleet} shows it, with secrets masked: the value of a variable
 * whose name contains (in any case) {@code TOKEN}, {@code SECRET}, {@code PASSWORD}, {@code PASSWD}, {@code KEY} or
 * {@code CREDENTIAL}, or is {@code VCAP_SERVICES} or {@code SPRING_APPLICATION_JSON}, shows as {@link #MASK} (the
 * words of Spring Boot's {@code SanitizingFunction} defaults); in any other value, the password of a URL
 * ({@code postgres://app:******@db/shop}), as Spring Boot 2's sanitizer masked it in properties named url or uri. An empty {@code command} is the built-in demo worker;
 * a null {@code workingDirectory} the master's.
 */
record SpecView(List<String> command, Map<String, String> environment, String workingDirectory, String readinessPath) {

    static final String MASK = "******";
    private static final List<String> SECRET_WORDS = List.of("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL");
    private static final Set<String> SECRET_NAMES = Set.of("VCAP_SERVICES", "SPRING_APPLICATION_JSON");
    /** The password of a URL's user info, {@code postgres://app:PASSWORD@db/shop}, whatever the variable's name. */
    private static final Pattern URL_PASSWORD = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)[^/?#@]*(@.*)$",
            Pattern.DOTALL);

    static SpecView of(WorkerSpec spec) {
        Map<String, String> environment = new TreeMap<>();
        spec.environment().forEach((name, value) -> environment.put(name, secret(name) ? MASK
                : URL_PASSWORD.matcher(value).replaceFirst("$1" + MASK + "$2")));
        return new SpecView(spec.command(), environment,
                spec.workingDirectory() == null ? null : spec.workingDirectory().toString(), spec.readinessPath());
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
