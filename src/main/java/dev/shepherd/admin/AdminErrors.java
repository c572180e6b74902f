package dev.shepherd.admin;

import dev.shepherd.fleet.FleetExceptions;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import org.springframework.web.servlet.resource.NoResourceFoundException;

import java.util.stream.Collectors;

/**
 * Every error of the admin API, as RFC 9457 problem details with a {@code detail} that says what to fix.
 * Spring's own errors (wrong method, unknown path) come through the base class. A detail quotes nothing of the
 * server (no class, no method, no stack trace) and of the client at most {@link Problems#QUOTE_LIMIT} characters.
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

    @ExceptionHandler(FleetExceptions.CannotStartException.class)
    ProblemDetail cannotStart(FleetExceptions.CannotStartException ex) {
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "Replacement cannot start", ex.getMessage());
    }

    /**
     * 503, as a busy server says it (RFC 9110 §15.6.4), with Retry-After when the command was withdrawn; without it
     * when the command runs and only its answer is late, so that no client is asked to give it twice. Nothing of it
     * is an internal error.
     */
    @ExceptionHandler(FleetExceptions.SupervisorBusyException.class)
    ResponseEntity<ProblemDetail> supervisorBusy(FleetExceptions.SupervisorBusyException ex) {
        ResponseEntity.BodyBuilder response = ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE);
        if (ex.withdrawn()) {
            response.header(HttpHeaders.RETRY_AFTER, "5");
        }
        return response.body(problem(HttpStatus.SERVICE_UNAVAILABLE, "Supervisor busy", ex.getMessage()));
    }

    @ExceptionHandler(FleetExceptions.InvalidSpecException.class)
    ProblemDetail invalidSpec(FleetExceptions.InvalidSpecException ex) {
        return problem(HttpStatus.BAD_REQUEST, "Invalid request", ex.getMessage());
    }

    @ExceptionHandler(ReloadRequests.BodyTooLargeException.class)
    ProblemDetail bodyTooLarge(ReloadRequests.BodyTooLargeException ex) {
        return problem(HttpStatus.CONTENT_TOO_LARGE, "Content Too Large", ex.getMessage());
    }

    @ExceptionHandler(InvalidRequestException.class)
    ProblemDetail invalidRequest(InvalidRequestException ex) {
        return problem(HttpStatus.BAD_REQUEST, "Invalid request", ex.getMessage());
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ProblemDetail typeMismatch(MethodArgumentTypeMismatchException ex) {
        String value = String.valueOf(ex.getValue());
        // A number too large for an int is a number: say what is wrong with it (found by a new user's attack).
        return problem(HttpStatus.BAD_REQUEST, "Invalid request", ex.getName() + (DecimalNumbers.INTEGER.matcher(value)
                .matches() ? " is out of range: " + Problems.quote(value) : " must be a decimal number (digits 0-9), not "
                + Problems.quote(value)));
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex, HttpHeaders headers,
                                                                  HttpStatusCode status, WebRequest request) {
        if (noBody(request)) {
            return missingBody();
        }
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, "Malformed request body",
                "The body must be JSON that fits the command, such as {\"workers\": 3} for /fleet/scale, "
                        + "{\"signal\": \"KILL\"} for a kill or {\"signal\": \"USR2\"} for a signal: "
                        + BodyErrors.describe(ex)));
    }

    /** In the words of a 405 that Tomcat answers itself (TRACE, {@link ErrorDispatch}), naming the method. */
    @Override
    protected ResponseEntity<Object> handleHttpRequestMethodNotSupported(HttpRequestMethodNotSupportedException ex,
                                                                         HttpHeaders headers, HttpStatusCode status,
                                                                         WebRequest request) {
        return ResponseEntity.status(HttpStatus.METHOD_NOT_ALLOWED).headers(headers).body(problem(
                HttpStatus.METHOD_NOT_ALLOWED, "Method Not Allowed", "The method " + Problems.quote(ex.getMethod())
                        + " is not supported here; the Allow header lists those that are"));
    }

    /** An unknown path: Spring's own detail ("No static resource …") would describe how it looked, not what is there. */
    @Override
    protected ResponseEntity<Object> handleNoResourceFoundException(NoResourceFoundException ex, HttpHeaders headers,
                                                                    HttpStatusCode status, WebRequest request) {
        return ResponseEntity.status(HttpStatus.NOT_FOUND).headers(headers).body(problem(HttpStatus.NOT_FOUND,
                "Not Found", "Nothing is at " + Problems.quote(requestPath(ex, request)) + " on the admin port: the "
                        + "admin API is /fleet and the paths under it (listed in /v3/api-docs), Actuator is "
                        + "/actuator, the fleet page is /"));
    }

    /**
     * The path asked for: the request's, not the resource path, which is relative to the handler's root ({@code
     * /webjars/} has the resource path "").
     */
    private static String requestPath(NoResourceFoundException ex, WebRequest request) {
        return request instanceof ServletWebRequest servlet ? servlet.getRequest().getRequestURI()
                : "/" + ex.getResourcePath();
    }

    /**
     * A body of another type than the command consumes; or none at all, with no Content-Type, to a command that needs
     * one, which Spring MVC finds no handler for and calls a media type mismatch: a missing body is not a wrong media
     * type (found by a new user: {@code curl -X POST /fleet/scale} was told to send JSON).
     */
    @Override
    protected ResponseEntity<Object> handleHttpMediaTypeNotSupported(HttpMediaTypeNotSupportedException ex,
                                                                     HttpHeaders headers, HttpStatusCode status,
                                                                     WebRequest request) {
        if (ex.getContentType() == null && noBody(request)) {
            return missingBody();
        }
        return ResponseEntity.status(HttpStatus.UNSUPPORTED_MEDIA_TYPE).headers(headers)
                .body(problem(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type",
                        "Send the body as JSON with Content-Type: application/json, such as {\"workers\": 3} for /fleet/scale"));
    }

    /** Whatever its Content-Type, the request came with no body (Content-Length 0 or none, not chunked). */
    private static boolean noBody(WebRequest request) {
        return request instanceof ServletWebRequest servlet && !BrowserGuard.sendsBody(servlet.getRequest());
    }

    /**
     * A command that needs a body got none: /fleet/scale is the one (a kill's and a reload's are optional; a signal's
     * absence is told by FleetController, with the signals it takes).
     */
    private static ResponseEntity<Object> missingBody() {
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, "Missing request body",
                "This command needs a body: send JSON with Content-Type: application/json, such as {\"workers\": 3} "
                        + "for /fleet/scale"));
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex, HttpHeaders headers,
                                                                  HttpStatusCode status, WebRequest request) {
        String detail = ex.getBindingResult().getFieldErrors().stream()
                .map(error -> error.getField() + ": " + error.getDefaultMessage()).collect(Collectors.joining("; "));
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, "Invalid request", detail));
    }

    /** Spring's own problems (those of the base class this one does not word) in the order of every other. */
    @Override
    protected ResponseEntity<Object> createResponseEntity(Object body, HttpHeaders headers, HttpStatusCode status,
                                                          WebRequest request) {
        return super.createResponseEntity(body instanceof ProblemDetail problem ? Problems.ordered(problem) : body,
                headers, status, request);
    }

    private static ProblemDetail problem(HttpStatus status, String title, String detail) {
        return Problems.of(status, title, detail);
    }
}
