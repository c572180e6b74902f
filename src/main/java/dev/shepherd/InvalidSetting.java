package dev.shepherd;

/**
 * A setting Shepherd cannot use, found at startup: the message names the property as the user writes it
 * ({@code server.port}, {@code fleet.admin.token}), its value where that helps, and what is allowed.
 * {@link ConfigurationFailureAnalyzer} prints it as Spring Boot prints a bad property, without a stack trace,
 * whether it was thrown while the environment was prepared ({@link PortLayout}) or by a bean.
 */
public final class InvalidSetting extends IllegalStateException {

    private final String property;
    private final String action;

    public InvalidSetting(String property, String message) {
        this(property, message, "Fix " + property + " (see the Configuration table of the README), or remove "
                + (property.contains(" and ") ? "them" : "it") + " to use the default.");
    }

    /** With {@code action}, what to do, when "fix it or remove it" is not the advice. */
    public InvalidSetting(String property, String message, String action) {
        super(message);
        this.property = property;
        this.action = action;
    }

    /** What the startup report tells the user to do. */
    public String action() {
        return action;
    }

    /** The property at fault, as the user writes it ({@code server.port}); two joined by "and" when both are. */
    public String property() {
        return property;
    }
}
