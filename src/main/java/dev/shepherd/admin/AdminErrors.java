package dev.shepherd.admin;

import dev.shepherd.fleet.FleetExceptions;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

import java.util.stream.Collectors;

/**
 * Every error of the admin API, as RFC 9457 problem details with a {@code detail} that says what to fix.
 * Spring's own errors (wrong method, unknown path, bad media type) come through the base class.
 */
@RestControllerAdvice
class AdminErrors extends ResponseEntityExceptionHandler {

    @ExceptionHandler(FleetExceptions.NoSuchWorkerException.class)
    ProblemDetail noSuchWorker(FleetExceptions.NoSuchWorkerException ex) {
        return problem(HttpStatus.NOT_FOUND, "No such worker", ex.getMessage());
    }

    @ExceptionHandler(FleetExceptions.ReloadInProgressException.class)
    ProblemDetail reloadRunning(FleetExceptions.ReloadInProgressException ex) {
        return problem(HttpStatus.CONFLICT, "Reload already running", ex.getMessage());
    }

    @ExceptionHandler(FleetExceptions.FleetConflictException.class)
    ProblemDetail conflict(FleetExceptions.FleetConflictException ex) {
        return problem(HttpStatus.CONFLICT, "Not possible now", ex.getMessage());
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ProblemDetail badArgument(IllegalArgumentException ex) {
        return problem(HttpStatus.BAD_REQUEST, "Invalid request", ex.getMessage());
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ProblemDetail typeMismatch(MethodArgumentTypeMismatchException ex) {
        return problem(HttpStatus.BAD_REQUEST, "Invalid request", ex.getName() + " must be a number, not '" + ex.getValue() + "'");
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex, HttpHeaders headers,
                                                                  HttpStatusCode status, WebRequest request) {
        String cause = ex.getMostSpecificCause().getMessage();
        String firstLine = cause == null ? "" : cause.lines().findFirst().orElse("");
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, "Malformed request body",
                "The body must be valid JSON, such as {\"workers\": 3} for /fleet/scale or {\"signal\": \"KILL\"} for a kill: "
                        + firstLine));
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex, HttpHeaders headers,
                                                                  HttpStatusCode status, WebRequest request) {
        String detail = ex.getBindingResult().getFieldErrors().stream()
                .map(error -> error.getField() + ": " + error.getDefaultMessage()).collect(Collectors.joining("; "));
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, "Invalid request", detail));
    }

    private static ProblemDetail problem(HttpStatus status, String title, String detail) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setTitle(title);
        return problem;
    }
}
