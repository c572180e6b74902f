package dev.shepherd.admin;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;
import org.apache.tomcat.util.res.StringManager;
import org.springframework.boot.tomcat.ConfigurableTomcatWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Requests that Tomcat itself refuses before any filter sees them (an encoded {@code /} or {@code \}, a bad
 * percent-encoding, a control character in the target, a request head over its size limit, which is told as 431)
 * get a problem body like every other error of the admin port, instead of Tomcat's HTML page. Ordered last, so its valve reports before the one Spring Boot adds.
 * And {@code 100 Continue} waits until a handler reads the body.
 */
@Component
class TomcatErrors implements WebServerFactoryCustomizer<ConfigurableTomcatWebServerFactory>, Ordered {

    @Override
    public void customize(ConfigurableTomcatWebServerFactory factory) {
        factory.addContextCustomizers(context -> context.getParent().getPipeline().addValve(new ProblemValve()));
        // "100 Continue" only once a handler reads the body: Tomcat sent it at once, so a client with
        // "Expect: 100-continue" began sending a body that BodyBudget then refused with 413 (found by a new user's
        // attack). A refusal (401, 411, 413, 415) now comes instead of the 100, before a byte of the body is sent.
        factory.addConnectorCustomizers(connector -> connector.setProperty("continueResponseTiming", "onRead"));
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }

    /** Writes the problem where Tomcat's {@link ErrorReportValve} would write HTML; called on the request thread. */
    static final class ProblemValve extends ErrorReportValve {

        private static final JsonMapper JSON = JsonMapper.builder().build();

        /** Tomcat's message for a request head that overflows its buffer, in the locale Tomcat writes it in. */
        private static final String TOO_LARGE = StringManager.getManager("org.apache.coyote.http11")
                .getString("iib.requestheadertoolarge.error");

        /** Tomcat's message for more header fields than its {@code maxHeaderCount} (100), up to the count. */
        private static final String TOO_MANY = StringManager.getManager("org.apache.tomcat.util.http")
                .getString("headers.maxCountFail").split("\\{0}")[0];

        private static boolean tooLarge(Throwable throwable) {
            return throwable instanceof IllegalArgumentException && TOO_LARGE.equals(throwable.getMessage());
        }

        private static boolean tooMany(Throwable throwable) {
            return throwable instanceof IllegalStateException && throwable.getMessage() != null
                    && throwable.getMessage().startsWith(TOO_MANY);
        }

        @Override
        protected void report(Request request, Response response, Throwable throwable) {
            int status = response.getStatus();
            if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
                return;
            }
            AtomicBoolean ioAllowed = new AtomicBoolean();
            response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
            if (!ioAllowed.get()) {
                return;
            }
            String detail;
            if (tooLarge(throwable)) {
                // RFC 6585 section 5; Tomcat says 400 for it, which the detail below would explain wrongly.
                status = HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE.value();
                response.setStatus(status);
                // Tomcat closes the connection after a head it could not read, but says so only for a 400.
                response.setHeader("Connection", "close");
                detail = "The request line and headers together are larger than the admin port takes "
                        + "(server.max-http-request-header-size, 8KB unless set); send a shorter target or fewer headers";
            } else if (tooMany(throwable)) {
                status = HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE.value();
                response.setStatus(status);
                response.setHeader("Connection", "close");
                detail = "The request has more header fields than the admin port takes (100); send fewer";
            } else {
                detail = status == 400 ? "The request target or a header is malformed (an encoded / or \\, "
                        + "a bad percent-encoding, a control character, a bad Content-Length); send the plain path "
                        + "and well-formed headers"
                        : "The request was refused before it reached the admin API";
            }
            HttpStatus known = HttpStatus.resolve(status);
            Map<String, Object> problem = new LinkedHashMap<>();
            problem.put("title", known == null ? "Error" : known.getReasonPhrase());
            problem.put("status", status);
            problem.put("detail", detail);
            try {
                // As Spring MVC writes a problem: no charset parameter, which JSON does not have (RFC 8259 §11);
                // every detail here is ASCII.
                response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
                PrintWriter writer = response.getReporter();
                if (writer != null) {
                    writer.write(JSON.writeValueAsString(problem));
                    response.finishResponse();
                }
            } catch (IOException | IllegalStateException ex) {
                // The client is gone or the response was taken over: nothing more to tell it.
            }
        }
    }
}
