package dev.shepherd.admin;

import io.swagger.v3.oas.annotations.Hidden;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.PathContainer;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.condition.PathPatternsRequestCondition;
import org.springframework.web.servlet.mvc.method.RequestMappingInfoHandlerMapping;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

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

    private final ObjectProvider<RequestMappingInfoHandlerMapping> mappings;

    ErrorDispatch(ObjectProvider<RequestMappingInfoHandlerMapping> mappings) {
        this.mappings = mappings;
    }

    @RequestMapping("/error")
    ProblemDetail error(HttpServletRequest request, HttpServletResponse response) {
        HttpStatus status = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE) instanceof Integer code
                && HttpStatus.resolve(code) != null ? HttpStatus.resolve(code) : HttpStatus.INTERNAL_SERVER_ERROR;
        if (status == HttpStatus.METHOD_NOT_ALLOWED
                && request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI) instanceof String path) {
            // Tomcat's Allow for a TRACE lists what the dispatcher servlet implements (DELETE, POST, PUT on every
            // path); RFC 9110 §10.2.1 wants the target's own, the methods an OPTIONS of it answers.
            response.setHeader(HttpHeaders.ALLOW, allowed(path));
        }
        ProblemDetail problem = Problems.of(status, status.getReasonPhrase(), detail(status));
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

    /**
     * The methods the admin port's handlers take at {@code path} (the request URI, its context path included: the
     * port has none), as Spring MVC's answer to an OPTIONS lists them: {@code HEAD} with {@code GET}, and
     * {@code OPTIONS} when any; empty for a path nothing handles.
     */
    String allowed(String path) {
        if (path.equals("/error")) {
            return "";
        }
        PathContainer target = PathContainer.parsePath(path);
        Set<RequestMethod> methods = EnumSet.noneOf(RequestMethod.class);
        mappings.orderedStream().forEach(mapping -> mapping.getHandlerMethods().keySet().forEach(info -> {
            PathPatternsRequestCondition patterns = info.getPathPatternsCondition();
            if (patterns != null && patterns.getPatterns().stream().anyMatch(pattern -> pattern.matches(target))) {
                Set<RequestMethod> declared = info.getMethodsCondition().getMethods();
                methods.addAll(declared.isEmpty() ? EnumSet.complementOf(EnumSet.of(RequestMethod.TRACE)) : declared);
            }
        }));
        if (methods.isEmpty() && staticResource(path)) {
            methods.add(RequestMethod.GET); // the fleet page's files: Spring MVC's resource handler takes GET, HEAD
        }
        if (methods.contains(RequestMethod.GET)) {
            methods.add(RequestMethod.HEAD);
        }
        if (!methods.isEmpty()) {
            methods.add(RequestMethod.OPTIONS);
        }
        // In RequestMethod's order, as Spring MVC's answer to an OPTIONS gives them.
        return String.join(",", methods.stream().map(RequestMethod::name).toList());
    }

    /** Whether Spring Boot's static locations on the class path hold a file at {@code path} (a directory's index). */
    private static boolean staticResource(String path) {
        String file = path.endsWith("/") ? path + "index.html" : path;
        if (file.contains("..") || file.contains("//")) {
            return false;
        }
        for (String location : STATIC_LOCATIONS) {
            if (new ClassPathResource(location + file).isReadable()) {
                return true;
            }
        }
        return false;
    }

    /** Spring Boot's {@code spring.web.resources.static-locations} default, without its {@code classpath:/}. */
    private static final List<String> STATIC_LOCATIONS = List.of("META-INF/resources", "resources", "static", "public");

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
