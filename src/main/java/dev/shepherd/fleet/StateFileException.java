package dev.shepherd.fleet;

import org.springframework.boot.diagnostics.FailureAnalyzedException;

/**
 * {@code fleet.state-file} cannot be used: the master does not start, and Spring Boot's startup failure report shows
 * the message (naming the file and the property) and what to do, first, instead of a stack trace.
 */
final class StateFileException extends FailureAnalyzedException {

    StateFileException(String description, String action) {
        super(description, action);
    }

    StateFileException(String description, String action, Throwable cause) {
        super(description, action, cause);
    }
}
