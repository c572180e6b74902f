package dev.shepherd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.stereotype.Component;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A warning, once at startup, for each {@code FLEET_*} environment variable that sets no {@code fleet.*} setting
 * ({@code FLEET_WORKERZ=3}): Spring Boot leaves environment variables out of the check that stops startup for an
 * unknown name given as an argument or in a file, since a host may have others that merely start with
 * {@code FLEET_}, so a misspelt one was ignored without a word. Kubernetes' variables for a Service named
 * {@code fleet} ({@code FLEET_SERVICE_HOST}, {@code FLEET_PORT_80_TCP}, …) are not warned about.
 */
@Component
class UnknownVariables implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(UnknownVariables.class);
    private static final String PREFIX = "FLEET_";
    /** What Kubernetes sets for a Service named {@code fleet} (its "Docker links" variables). */
    private static final Pattern SERVICE_LINK = Pattern.compile(
            "FLEET_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)");

    private static final Pattern LIST_INDEX = Pattern.compile("_\\d+");
    /** The spelling of {@code fleet.worker.environment}'s keys from the environment, up to the key. */
    private static final String WORKER_VARIABLE = "FLEET_WORKER_ENVIRONMENT_";
    private static final Pattern MAP_KEY = Pattern.compile("_.+");

    /** Once every bean is made, before the fleet and the proxy start: before a worker runs with the setting. */
    @Override
    public void afterSingletonsInstantiated() {
        for (String warning : warnings(System.getenv(), KnownSettings.types())) {
            log.warn(warning);
        }
    }

    /**
     * One warning for each variable of {@code environment} that starts with {@code FLEET_} and is no spelling
     * Spring Boot binds to a name of {@code known} (upper case, {@code _} for {@code .}, {@code -} dropped or
     * written {@code _}; after a list's name its index, after a map's name a key), with the closest known name when
     * there is one. {@code known} maps each setting to its Java type, as {@link KnownSettings#types()} does.
     */
    static List<String> warnings(Map<String, String> environment, Map<String, String> known) {
        List<String> warnings = new ArrayList<>();
        if (known.isEmpty()) {
            return warnings;
        }
        for (String name : new TreeSet<>(environment.keySet())) {
            String spelling = asSpelling(name);
            if (name.startsWith(PREFIX) && spelling.startsWith(WORKER_VARIABLE) && known.containsKey("fleet.worker.environment")) {
                // The key as written (FLEET_WORKER_ENVIRONMENT_myVar: myVar), where the prefix is spelt plainly.
                String key = name.toUpperCase(Locale.ROOT).startsWith(WORKER_VARIABLE)
                        ? name.substring(WORKER_VARIABLE.length()) : spelling.substring(WORKER_VARIABLE.length());
                warnings.add(workerVariable(name, key));
                continue;
            }
            if (!name.startsWith(PREFIX) || SERVICE_LINK.matcher(name).matches() || binds(spelling, known)) {
                continue;
            }
            Optional<String> closest = KnownSettings.closest(asProperty(name), List.copyOf(known.keySet()));
            warnings.add("The environment variable " + name + " sets no fleet.* setting and is ignored"
                    + closest.map(property -> "; did you mean " + asVariable(property) + " (" + property + ")?").orElse(""));
        }
        return warnings;
    }

    /**
     * The warning for {@code FLEET_WORKER_ENVIRONMENT_NODE_ENV}: Spring Boot binds a map's key from an environment
     * variable lower-cased, with {@code .} for {@code _}, so the workers got {@code node.env}, not {@code NODE_ENV}
     * (found by a new user; the README said so in the Docker section only). {@code key} as written after the prefix.
     */
    private static String workerVariable(String name, String key) {
        return "The environment variable " + name + " gives the workers a variable named "
                + key.toLowerCase(Locale.ROOT).replace('_', '.') + ", not " + key + ": Spring Boot lower-cases a key "
                + "it binds from the environment and reads _ as a dot. Set " + key + " on the master itself (workers "
                + "inherit its environment), or fleet.worker.environment[" + key + "] in a file or an argument";
    }

    /**
     * Whether {@code variable}, upper case with {@code _} for {@code .}, is a spelling Spring Boot binds to a name of
     * {@code known} (a setting and its Java type): with {@code -} dropped or written {@code _}, and after a list's name
     * an index, after a map's a key.
     */
    static boolean binds(String variable, Map<String, String> known) {
        for (Map.Entry<String, String> setting : known.entrySet()) {
            String property = setting.getKey();
            // A list's index (FLEET_WORKER_COMMAND_0) or a map's key (FLEET_WORKER_ENVIRONMENT_NODE_ENV) after it.
            Pattern element = setting.getValue().startsWith("java.util.Map<") ? MAP_KEY
                    : setting.getValue().startsWith("java.util.List<") || setting.getValue().endsWith("[]")
                    ? LIST_INDEX : null;
            for (String form : List.of(asVariable(property), property.toUpperCase(Locale.ROOT).replace('.', '_')
                    .replace('-', '_'))) {
                if (variable.equals(form) || element != null && variable.startsWith(form)
                        && element.matcher(variable.substring(form.length())).matches()) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * {@code name} as {@link #binds} compares it, read as Spring Boot reads a variable's name: an index or key in
     * brackets as one more element ({@code FLEET_WORKER_COMMAND[0]} as {@code FLEET_WORKER_COMMAND_0}), {@code _} for
     * {@code .} and {@code -}, empty elements dropped ({@code FLEET__WORKERS_} binds {@code fleet.workers}), and the
     * case of Spring Boot's lower-casing ({@code K}, the Kelvin sign, is a {@code k} to it), then upper case. Found by
     * an attacking helper: each of those spellings set a setting and was warned about as ignored.
     */
    static String asSpelling(String name) {
        String spelled = name.replaceAll("\\[([^\\]]*)]", "_$1").toLowerCase(Locale.ROOT).toUpperCase(Locale.ROOT)
                .replace('.', '_').replace('-', '_');
        return spelled.replaceAll("_+", "_").replaceAll("^_|_$", "");
    }

    /** {@code fleet.max-workers} as Spring Boot's canonical variable: {@code FLEET_MAXWORKERS}. */
    static String asVariable(String property) {
        return property.toUpperCase(Locale.ROOT).replace('.', '_').replace("-", "");
    }

    /** {@code FLEET_MAX_WORKERS} as a property name to compare with the known ones: {@code fleet.max.workers}. */
    private static String asProperty(String variable) {
        return variable.toLowerCase(Locale.ROOT).replace('_', '.');
    }
}
