package dev.shepherd;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Shepherd's own defaults ({@value #RESOURCE} in the jar: strict JSON for the admin API, the admin port's
 * connection limit, no multipart or form parsing, health mapping, log levels), added as the environment's last
 * property source, so that every setting of the user's wins over them, as it did over the jar's
 * {@code application.yml}. They were that file: {@code --spring.config.location} (or {@code spring.config.name})
 * replaces the files Spring Boot reads, the jar's own among them, and took these protections away without a word
 * ({@code {"workers": 2.9}} scaled to 2, the admin port held 8,192 connections; found by an attacking helper).
 */
public class BuiltInDefaults implements EnvironmentPostProcessor, Ordered {

    static final String RESOURCE = "shepherd/defaults.yml";
    static final String SOURCE = "shepherdDefaults";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        boolean shepherd = application.getAllSources().stream().anyMatch(source -> source == ShepherdApplication.class);
        if (!shepherd || environment.getPropertySources().contains(SOURCE)) {
            // Another Spring Boot application on the same class path (a worker, a test) gets none of them, where it
            // got the jar's application.yml before.
            return;
        }
        try {
            for (PropertySource<?> source : new YamlPropertySourceLoader().load(SOURCE, new ClassPathResource(RESOURCE,
                    BuiltInDefaults.class.getClassLoader()))) {
                environment.getPropertySources().addLast(source);
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("Shepherd's built-in defaults (" + RESOURCE + ") cannot be read", ex);
        }
    }

    @Override
    public int getOrder() {
        // After the configuration files are added (last, or before defaultProperties), so that this comes after
        // them; before the logging system reads its levels and pattern, as every EnvironmentPostProcessor does.
        return ConfigDataEnvironmentPostProcessor.ORDER + 1;
    }
}
