package dev.shepherd;

import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.bind.validation.BindValidationException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.boot.origin.Origin;
import org.springframework.boot.web.server.PortInUseException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.convert.ConverterNotFoundException;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Environment;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.FieldError;
import org.springframework.validation.ObjectError;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The startup failure report for a bad {@code fleet.*} setting, naming each property as it is written
 * ({@code fleet.worker.max-concurrency}, the form of the README and of {@code application.yml}), with its value, where
 * it came from and what is allowed, in the words of the README rather than Java's. Spring Boot's own analyzers
 * print a record component's path as Java spells it ({@code fleet.worker.maxConcurrency}, without an origin), the
 * valid values of an enum as its constants ({@code LEAST_REQUEST}) and a conversion failure as the annotated Java
 * type; this one runs first and leaves every other failure, and every other prefix, to them.
 *
 * <p>Built by Boot's {@code FailureAnalyzers} with the application's {@link Environment}, which tells where a value
 * came from (a command-line argument, a variable, a file and line).
 */
@Order(Ordered.HIGHEST_PRECEDENCE)
public final class ConfigurationFailureAnalyzer implements FailureAnalyzer {

    private static final String PREFIX = "fleet";
    private static final String ACTION = "Fix the value (see the Configuration table of the README), or remove it to "
            + "use the default.";
    private static final String ACTION_AND_NAMES = "Fix the value (see the Configuration table of the README), or remove "
            + "it to use the default; correct or remove the unknown names and variables.";

    private final Environment environment;

    public ConfigurationFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    public FailureAnalysis analyze(Throwable failure) {
        InvalidSetting setting = cause(failure, InvalidSetting.class);
        if (setting != null) {
            return new FailureAnalysis(setting.getMessage(), setting.action(), setting);
        }
        BindValidationException validation = cause(failure, BindValidationException.class);
        if (validation != null) {
            return ours(validation.getValidationErrors().getName().toString()) ? invalid(validation) : null;
        }
        UnboundConfigurationPropertiesException unknown = cause(failure, UnboundConfigurationPropertiesException.class);
        if (unknown != null && unknown.getUnboundProperties().stream().anyMatch(property -> ours(property.getName().toString()))) {
            return unknown(unknown);
        }
        BindException binding = cause(failure, BindException.class);
        if (binding != null && ours(binding.getName().toString()) && binding.getCause() != null) {
            return unconvertible(binding);
        }
        PortInUseException inUse = cause(failure, PortInUseException.class);
        if (inUse != null) {
            return portsInUse(inUse);
        }
        return null;
    }

    /**
     * {@code inUse}'s port and those of the {@link PortInUseException}s it carries as suppressed ones
     * ({@code AdminPortFree} adds the proxy's when both are taken), each said as {@link #portInUse} says it; null
     * (Boot's report) when the first is neither Shepherd's.
     */
    private FailureAnalysis portsInUse(PortInUseException inUse) {
        FailureAnalysis first = portInUse(inUse.getPort());
        if (first == null) {
            return null;
        }
        StringBuilder description = new StringBuilder(first.getDescription());
        StringBuilder action = new StringBuilder(first.getAction());
        for (Throwable suppressed : inUse.getSuppressed()) {
            FailureAnalysis other = suppressed instanceof PortInUseException port ? portInUse(port.getPort()) : null;
            if (other != null) {
                description.append('\n').append(other.getDescription());
                action.append('\n').append(other.getAction());
            }
        }
        return new FailureAnalysis(description.toString(), action.toString(), null);
    }

    /**
     * A port in use, named by the setting the user gave it (and by {@code shepherd start}'s option, when that gave
     * it): Boot's own report ("Port 8081 was already in use") does
     * not say whether it is the proxy's or the admin API's, and would name server.port for the admin API's (its
     * servlet container's port, {@link PortLayout}). Null (Boot's report) for a port that is neither.
     */
    private FailureAnalysis portInUse(int port) {
        if (environment == null) {
            return null;
        }
        String value = String.valueOf(port);
        String setting;
        if (value.equals(environment.getProperty(PortLayout.PROXY_PORT))) {
            setting = "server.port";
        } else if (value.equals(environment.getProperty("server.port"))) {
            // PortLayout moved the user's management.server.port there: the servlet container serves the admin API.
            setting = "management.server.port";
        } else {
            return null;
        }
        String plane = setting.equals("server.port") ? "the proxy" : "the admin API";
        // shepherd start -p 47000: the option typed, which a new user did not find in "server.port".
        String option = environment.getProperty(StartCommand.TYPED_OPTION + setting);
        return new FailureAnalysis("Port " + port + " (" + (option == null ? "" : option + ", ") + setting + ", "
                + plane + ") is already in use.", "Stop the process listening on port " + port + " (ss -ltnp 'sport = :"
                + port + "' names it), or " + (option == null ? "set " + setting + " to" : "give " + option) + " another "
                + "port (0 picks a free one).", null);
    }

    private static boolean ours(String name) {
        return name.equals(PREFIX) || name.startsWith(PREFIX + ".");
    }

    private FailureAnalysis invalid(BindValidationException validation) {
        StringBuilder description = new StringBuilder("Invalid configuration:\n");
        String prefix = validation.getValidationErrors().getName().toString();
        for (ObjectError error : validation.getValidationErrors()) {
            description.append('\n');
            if (error instanceof FieldError field && !namesItsProperties(field)) {
                String name = prefix + "." + dashed(field.getField());
                ConfigurationProperty property = property(name);
                Object value = property != null ? property.getValue() : field.getRejectedValue();
                appendProperty(description, name, value, property != null ? property.getOrigin() : null);
            } else if (error.getDefaultMessage() != null) {
                // A rule across settings: each one it names that was given, with its value and where it came from
                // (one left out has its default, which the Configuration table gives).
                Matcher named = SETTING.matcher(error.getDefaultMessage());
                Set<String> shown = new LinkedHashSet<>();
                while (named.find()) {
                    ConfigurationProperty property = property(named.group());
                    if (property != null && shown.add(named.group())) {
                        appendProperty(description, named.group(), property.getValue(), property.getOrigin());
                    }
                }
            }
            description.append("    Reason: ").append(error.getDefaultMessage()).append('\n');
        }
        boolean unknownToo = appendUnknown(description);
        return new FailureAnalysis(description.toString(), unknownToo ? ACTION_AND_NAMES : ACTION, validation);
    }

    /**
     * The {@code fleet.*} names given on the command line or in files that Shepherd has no setting for, added to a
     * report of a bad value: Spring Boot reports them only once every value binds, so a file with a bad size and a
     * misspelt name took two starts of 10-20 s each to learn both (found by a new user). Variables and system
     * properties are left out, as {@link #unknown} leaves them.
     */
    private boolean appendUnknown(StringBuilder description) {
        if (environment == null) {
            return false;
        }
        Map<String, String> types = KnownSettings.types();
        if (types.isEmpty()) {
            return false;
        }
        List<String> known = List.copyOf(types.keySet());
        List<String> groups = types.entrySet().stream().filter(entry -> entry.getValue().startsWith("java.util.Map<"))
                .map(entry -> entry.getKey() + ".").toList();
        Set<String> shown = new LinkedHashSet<>();
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (!(source instanceof IterableConfigurationPropertySource names) || !fromArgumentsOrFiles(source)) {
                continue;
            }
            names.stream().map(ConfigurationPropertyName::toString).filter(ConfigurationFailureAnalyzer::ours)
                    .filter(name -> !known.contains(name.replaceAll("\\[[^\\]]*\\]", ""))
                            && groups.stream().noneMatch(name::startsWith))
                    .forEach(name -> {
                        if (shown.isEmpty()) {
                            description.append("\nAnd unknown:\n");
                        }
                        // A misspelt list once, not once per element (a new user's comand[0], comand[1]).
                        if (shown.add(name.replaceAll("\\[[^\\]]*\\]", ""))) {
                            ConfigurationProperty property = source.getConfigurationProperty(ConfigurationPropertyName.of(name));
                            description.append('\n');
                            appendProperty(description, name, property == null ? null : property.getValue(),
                                    property == null ? null : property.getOrigin());
                            String setting = name.replaceAll("\\[[^\\]]*\\]", "");
                            description.append("    Reason: Shepherd has no setting ").append(setting);
                            KnownSettings.closest(setting, known)
                                    .ifPresent(meant -> description.append("; did you mean ").append(meant).append('?'));
                            description.append('\n');
                        }
                    });
        }
        // The variables that set nothing, which a start that succeeds warns of (UnknownVariables): a failed start
        // never got to it, so one configured through the environment took two starts too (a new user's).
        List<String> variables = environment instanceof ConfigurableEnvironment configurable
                && configurable.getPropertySources().get(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME)
                instanceof org.springframework.core.env.MapPropertySource variablesSource
                ? UnknownVariables.warnings(stringValues(variablesSource.getSource()), types) : List.of();
        if (!variables.isEmpty()) {
            description.append("\nAnd variables:\n\n");
            variables.forEach(warning -> description.append("    ").append(warning).append('\n'));
        }
        return !shown.isEmpty() || !variables.isEmpty();
    }

    private static Map<String, String> stringValues(Map<String, Object> source) {
        Map<String, String> values = new java.util.TreeMap<>();
        source.forEach((name, value) -> values.put(name, String.valueOf(value)));
        return values;
    }

    /** Whether {@code source} is the command line's or a file's, not the variables' or the system properties'. */
    private static boolean fromArgumentsOrFiles(ConfigurationPropertySource source) {
        Object underlying = source.getUnderlyingSource();
        String name = underlying instanceof org.springframework.core.env.PropertySource<?> property ? property.getName() : "";
        return !name.equals(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME)
                && !name.equals(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME)
                && !name.equals("configurationProperties");
    }

    /**
     * A {@code fleet.*} setting that Shepherd does not have (a misspelt or misplaced name), from a command-line
     * argument or a file: each with its value and origin, and the known name it most likely meant. Environment
     * variables and system properties are not checked (Spring Boot leaves them out, as a host's variables that merely
     * start with {@code FLEET_} are not settings).
     */
    private FailureAnalysis unknown(UnboundConfigurationPropertiesException unknown) {
        StringBuilder description = new StringBuilder("Unknown setting:\n");
        Map<String, String> types = KnownSettings.types();
        List<String> known = List.copyOf(types.keySet());
        for (ConfigurationProperty property : unknown.getUnboundProperties()) {
            String name = property.getName().toString();
            description.append('\n');
            appendProperty(description, name, property.getValue(), property.getOrigin());
            // An element of a list or a map's key (fleet.worker.comand[0]) is the setting's own fault.
            String setting = name.replaceAll("\\[[^\\]]*\\]", "");
            if (known.contains(setting) && !setting.equals(name) && types.get(setting).startsWith("java.util.List<")) {
                // fleet.worker.command[0] and [2]: Spring Boot binds a list up to its first missing index.
                description.append("    Reason: ").append(setting).append(name.matches(".*\\[0\\d+].*")
                        ? "'s indexes are written without leading zeros: [1], not [01]\n"
                        : !name.matches("[^\\[]*(\\[\\d+])+")
                        ? "'s elements are plain values, each with one number as its index: [0], [1], ...\n"
                        : "'s indexes must run 0, 1, 2... without a gap: this element comes after a missing one\n");
                continue;
            }
            if (known.contains(setting) && !setting.equals(name)) {
                // fleet.workers: [1, 2] in YAML: an element of a setting that takes one value.
                description.append("    Reason: ").append(setting).append(" takes one value, not a list or a map\n");
                continue;
            }
            if (known.contains(setting)) {
                // Spring Boot binds an empty value of an optional setting (a Path, a size) to nothing, and then calls
                // it unbound: the setting exists (found by a new user's attack: "did you mean fleet.state-file?").
                description.append("    Reason: ").append(setting).append(" is empty, and takes no empty value: leave "
                        + "it out (or unset it) for its default\n");
                continue;
            }
            description.append("    Reason: Shepherd has no setting ").append(setting);
            KnownSettings.closest(setting, known)
                    .ifPresent(meant -> description.append("; did you mean ").append(meant).append('?'));
            description.append('\n');
        }
        return new FailureAnalysis(description.toString(), "Correct or remove the setting; the Configuration table of "
                + "the README lists every fleet.* setting.", unknown);
    }

    private FailureAnalysis unconvertible(BindException binding) {
        String name = binding.getName().toString();
        ConfigurationProperty property = binding.getProperty();
        StringBuilder description = new StringBuilder("Invalid configuration:\n\n");
        appendProperty(description, name, property != null ? property.getValue() : null,
                property != null ? property.getOrigin() : null);
        Class<?> type = binding.getTarget().getType().resolve(Object.class);
        description.append("    Reason: ").append(expected(name, type, binding));
        if (property != null && property.getValue() instanceof String value && value.contains(",")
                && !Collection.class.isAssignableFrom(type) && !type.isArray()) {
            description.append(" (a comma makes it a list of values: this setting takes one)");
        }
        description.append('\n');
        boolean unknownToo = appendUnknown(description);
        return new FailureAnalysis(description.toString(), unknownToo ? ACTION_AND_NAMES : ACTION, binding);
    }

    /**
     * A setting's lines: its name, value and origin, and the option of {@code shepherd start} that set it, when one
     * did (a new user's {@code start -i 5000} was told of {@code fleet.workers} from "commandLineArgs", no word of
     * {@code -i}).
     */
    private void appendProperty(StringBuilder description, String name, Object value, Origin origin) {
        description.append("    Property: ").append(name).append('\n');
        if (value != null) {
            description.append("    Value: \"").append(value).append("\"\n");
        }
        String option = environment == null ? null : environment.getProperty(StartCommand.TYPED_OPTION + name);
        if (option != null) {
            description.append("    Option: ").append(option).append(" of shepherd start\n");
        } else if (origin != null) {
            description.append("    Origin: ").append(origin).append('\n');
        }
    }

    /**
     * What a value of {@code type} for the setting {@code name} looks like, in the README's terms; else what the
     * conversion said, but never the Java types Spring's "no converter found" names.
     */
    private static String expected(String name, Class<?> type, Throwable failure) {
        if (Map.class.isAssignableFrom(type)) {
            // fleet.worker.environment=foo (found by a new user's attack: the reason named Spring's converter types).
            return "must be names and values, each given as " + name + ".NAME=value (in YAML, keys under " + name + ")";
        }
        if (type.isEnum()) {
            return "must be one of " + Arrays.stream(type.getEnumConstants())
                    .map(constant -> ((Enum<?>) constant).name().toLowerCase(Locale.ROOT).replace('_', '-'))
                    .collect(Collectors.joining(", "));
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "must be a whole number";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "must be true or false";
        }
        if (type == Duration.class) {
            return "must be a duration such as 500ms, 30s, 5m or 1h";
        }
        if (type == DataSize.class) {
            // A size was refused with no word of how to write it (a new user's); PM2's and nginx's forms are taken
            // (OneLetterSizes).
            return "must be a size such as 512B, 64KB, 300MB or 1GB (or PM2's and nginx's 300M, 1G)";
        }
        Throwable root = failure;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        if (root instanceof ConverterNotFoundException) {
            return "is a group of settings, not a value: give each as " + name + ".NAME=value (see the Configuration "
                    + "table of the README)";
        }
        return root.getMessage();
    }

    /**
     * A rule across properties (an {@code @AssertTrue} method such as "fleet.workers must not be larger than
     * fleet.max-workers"): its message names the properties, and the method's own name is no property.
     */
    /** A {@code fleet.*} name in a message. */
    private static final Pattern SETTING = Pattern.compile("fleet(\\.[a-z0-9-]+)+");

    private static boolean namesItsProperties(FieldError error) {
        return error.getDefaultMessage() != null && error.getDefaultMessage().startsWith(PREFIX + ".");
    }

    /** {@code worker.maxConcurrency} as it is written: {@code worker.max-concurrency}; map keys and indexes kept. */
    static String dashed(String path) {
        StringBuilder dashed = new StringBuilder();
        for (String element : path.split("\\.(?![^\\[]*\\])")) {
            if (!dashed.isEmpty()) {
                dashed.append('.');
            }
            int bracket = element.indexOf('[');
            dashed.append(DataObjectPropertyName.toDashedForm(bracket < 0 ? element : element.substring(0, bracket)));
            if (bracket >= 0) {
                dashed.append(element.substring(bracket));
            }
        }
        return dashed.toString();
    }

    /** The property as the environment has it (value as written, and origin), or null. */
    private ConfigurationProperty property(String name) {
        if (environment == null || !ConfigurationPropertyName.isValid(name)) {
            return null;
        }
        ConfigurationPropertyName propertyName = ConfigurationPropertyName.of(name);
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            ConfigurationProperty property = source.getConfigurationProperty(propertyName);
            if (property != null) {
                return property;
            }
        }
        return null;
    }

    private static <T extends Throwable> T cause(Throwable failure, Class<T> type) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (type.isInstance(cause)) {
                return type.cast(cause);
            }
        }
        return null;
    }
}
