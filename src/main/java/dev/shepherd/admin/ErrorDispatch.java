package dev.shepherd.admin;

import io.swagger.v3.oas.annotations.Hidden;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * The admin port's error page: a response that Tomcat or a filter ended with {@code sendError} (a {@code TRACE},
 * which Tomcat refuses with 405 before any filter, an exception that escaped a filter) reaches {@code /error} by an
 * error dispatch and gets the same RFC 9457 problem as every other error of the port, in place of Spring Boot's
 * {@code {"timestamp", "error", "path"}} JSON. Its detail quotes nothing of the failure (no exception, no message).
 * Called on the request thread; {@code /error} itself is not reachable from outside ({@link AdminSecurity}).
 */
@RestController
@Hidden // not in the OpenAPI document: no client may call it
class ErrorDispatch implements ErrorController {

    @RequestMapping("/error")
    ProblemDetail error(HttpServletRequest request) {
        HttpStatus status = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE) instanceof Integer code
                && HttpStatus.resolve(code) != null ? HttpStatus.resolve(code) : HttpStatus.INTERNAL_SERVER_ERROR;
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail(status));
        problem.setTitle(status.getReasonPhrase());
        // The path the client asked for, as Spring's own problems give it; never /error.
        problem.setInstance(null);
        if (request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI) instanceof String path) {
            try {
                problem.setInstance(new URI(path));
            } catch (URISyntaxException ex) {
                // Not a URI: the problem goes without an instance.
            }
        }
        return problem;
    }

    /** What an error of {@code status} tells the client when its handler said nothing. */
    static String detail(HttpStatus status) {
        return switch (status) {
            // Tomcat refuses TRACE itself and forwards the error as a GET: the method is not known here.
            case METHOD_NOT_ALLOWED -> "The method is not supported here; the Allow header lists those that are";
            case NOT_FOUND -> "No such path on the admin port (or no such health component or group); GET "
                    + "/v3/api-docs lists the API";
            case BAD_REQUEST -> "The request is malformed";
            default -> status.is5xxServerError() ? "The admin API failed to answer; the master's log has the cause"
                    : "The request was refused";
        };
    }
}
