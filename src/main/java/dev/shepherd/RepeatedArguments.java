package dev.shepherd;

import org.springframework.boot.bootstrap.ConfigurableBootstrapContext;
import org.springframework.boot.DefaultApplicationArguments;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringApplicationRunListener;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;

import java.util.List;

/**
 * Stops startup when a command-line option is given more than once ({@code --fleet.admin.token=a
 * --fleet.admin.token=b}): Spring Boot joins the values with a comma, so a token became {@code a,b}, which neither
 * caller knew, and two {@code --fleet.worker.command} became one longer command, without a word. nginx refuses a
 * duplicate directive the same way. An option without a value ({@code --debug}) may be repeated.
 *
 * <p>A run listener rather than an environment post-processor, since only it is given the arguments as written;
 * it runs once, on the main thread, when the environment is prepared, and only for Shepherd's own application (a
 * Spring Boot worker on the same classpath keeps Spring Boot's rule).
 */
public class RepeatedArguments implements SpringApplicationRunListener, Ordered {

    private final SpringApplication application;
    private final String[] args;

    public RepeatedArguments(SpringApplication application, String[] args) {
        this.application = application;
        this.args = args;
    }

    /** Before Spring Boot's own listener, whose post-processors would read the joined values. */
    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    @Override
    public void environmentPrepared(ConfigurableBootstrapContext bootstrapContext, ConfigurableEnvironment environment) {
        if (application.getAllSources().stream().anyMatch(source -> source == ShepherdApplication.class)) {
            check(args);
        }
    }

    /**
     * @throws InvalidSetting for the first option of {@code args} that has more than one value, naming it (not its
     *                        values, which may be secrets)
     */
    static void check(String[] args) {
        DefaultApplicationArguments arguments = new DefaultApplicationArguments(args);
        for (String name : arguments.getOptionNames()) {
            List<String> values = arguments.getOptionValues(name);
            if (values != null && values.size() > 1) {
                // The values are not shown: one may be a token or a password.
                throw new InvalidSetting(name, "--" + name + " is given " + (values.size() == 2 ? "twice"
                        : values.size() + " times") + " on the command line; Spring Boot would join the values with "
                        + "a comma into one that neither meant",
                        "Give --" + name + " once; a list takes its items comma-separated in one argument "
                                + "(--fleet.worker.command=node,server.js).");
            }
        }
    }
}
