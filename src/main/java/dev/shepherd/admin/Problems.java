package dev.shepherd.admin;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.shepherd.TerminalText;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * RFC 9457 problem details written by the security filters, which answer before Spring MVC (and its
 * {@link AdminErrors}) sees the request: the same members ({@code type}, {@code title}, {@code status},
 * {@code detail}, {@code instance}), so a client reads every error of the admin port the same way. Every problem of
 * the port has them in that order, RFC 9457's (§3.1), extensions after: the maps written here in it, Spring MVC's
 * {@link ProblemDetail}s through {@link #of} and {@link #ordered}, which Jackson would otherwise write in alphabetical
 * order (its 3.x default), a {@code 400} as {@code detail, instance, status, title} beside a {@code 415} from
 * {@link BrowserGuard} as {@code title, status, detail, instance}.
 */
final class Problems {

    /** A detail quotes at most this many characters of what a client sent. */
    static final int QUOTE_LIMIT = 100;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Problems() {
    }

    /** A problem of {@code status} titled {@code title}, its members in RFC 9457's order when written. */
    static ProblemDetail of(HttpStatusCode status, String title, String detail) {
        ProblemDetail problem = new Ordered(ProblemDetail.forStatusAndDetail(status, detail));
        problem.setTitle(title);
        return problem;
    }

    /** {@code problem} (one that Spring MVC made), its members in RFC 9457's order when written. */
    static ProblemDetail ordered(ProblemDetail problem) {
        return problem instanceof Ordered ? problem : new Ordered(problem);
    }

    /** Jackson writes the members named here first, in this order, then the rest (the extensions, after all). */
    @JsonPropertyOrder({"type", "title", "status", "detail", "instance"})
    private static final class Ordered extends ProblemDetail {

        private static final long serialVersionUID = 1L;

        Ordered(ProblemDetail problem) {
            super(problem);
        }
    }

    /**
     * Writes {@code status} with {@code detail} about {@code request}, unless the response is already committed: its
     * {@code instance} is the path the client asked for (the error dispatch's original one), as Spring MVC's
     * problems have it; none when {@code request} is null. Any request thread.
     */
    static void write(HttpServletRequest request, HttpServletResponse response, HttpStatus status, String detail)
            throws IOException {
        if (response.isCommitted()) {
            return;
        }
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("title", status.getReasonPhrase());
        problem.put("status", status.value());
        problem.put("detail", detail);
        if (request != null) {
            Object original = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
            problem.put("instance", original instanceof String path ? path : request.getRequestURI());
        }
        byte[] body = JSON.writeValueAsBytes(problem);
        response.setStatus(status.value());
        // As Spring MVC writes a problem: no "type" (about:blank when absent, RFC 9457 §4.2.1) and no charset
        // parameter, which JSON does not have (RFC 8259 §11); the bytes are UTF-8.
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    /**
     * {@code value} as a detail may quote it: at most {@link #QUOTE_LIMIT} characters, each control character (tab
     * too) and each that {@link TerminalText} escapes (a bidirectional override) replaced by {@code ?}.
     */
    static String quote(String value) {
        String shown = value.length() > QUOTE_LIMIT ? value.substring(0, QUOTE_LIMIT) + "…" : value;
        StringBuilder quoted = new StringBuilder(shown.length() + 2).append('\'');
        shown.chars().forEach(c -> quoted.append(c == '\t' || TerminalText.control(c) ? '?' : (char) c));
        return quoted.append('\'').toString();
    }
}
