package dev.shepherd.admin;

import dev.shepherd.fleet.WorkerFleetService;
import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.JsonSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springdoc.core.customizers.OperationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpHeaders;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the OpenAPI document ({@code /v3/api-docs}, Swagger UI) says of the admin API as a whole: its name and
 * version, in place of SpringDoc's "OpenAPI definition" and "v0"; that every operation takes the admin token as
 * {@code Authorization: Bearer} (RFC 6750), so that Swagger UI's "Authorize" sends it; and, in
 * {@link #adminErrorResponses()}, the errors each operation answers with, each an RFC 9457 problem ({@link #PROBLEM}).
 */
@Configuration(proxyBeanMethods = false)
class AdminApiDocs {

    static final String TOKEN_SCHEME = "adminToken";
    /** The name of the RFC 9457 problem details schema among the document's components. */
    static final String PROBLEM = "Problem";
    /** The media type of every error of the admin port (RFC 9457 §3). */
    static final String PROBLEM_JSON = org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON_VALUE;

    private static final String NO_WORKER = "No worker has this id (any more): GET /fleet lists the current ones";
    private static final String BAD_ID = "id is not a decimal number";

    /**
     * The errors of each {@link FleetController} handler beyond those that every operation, or every one with a body,
     * can answer ({@link #adminErrorResponses()}), by handler method name: the statuses its code and
     * {@link AdminErrors} answer with, and when. A handler missing here fails the document, so that none is
     * documented without its errors.
     */
    private static final Map<String, Map<Integer, String>> ERRORS = Map.ofEntries(
            Map.entry("fleet", Map.of()),
            Map.entry("worker", Map.of(400, BAD_ID, 404, NO_WORKER)),
            Map.entry("scale", Map.of(
                    400, "There is no body, or it is not valid JSON, or workers is missing or not between 1 and "
                            + "fleet.max-workers",
                    409, "A reload or a failed one's rollback is running (detail says how to stop it)")),
            Map.entry("reload", Map.of(
                    400, "The body is not valid JSON, or not a valid spec change (detail names the field); nothing started",
                    409, "A reload is running, or a failed one is being rolled back")),
            Map.entry("undo", Map.of(
                    409, "No reload that changed the spec has succeeded since the master started, the latest reload "
                            + "failed (and was rolled back), or a failed reload's rollback is running")),
            Map.entry("reloadStatus", Map.of()),
            Map.entry("replace", Map.of(
                    400, BAD_ID,
                    404, NO_WORKER,
                    409, "A reload or a failed one's rollback is running, or the worker is neither READY nor EXITED, or is "
                            + "already being replaced",
                    500, "The replacement's program cannot be started at all (the SPAWN_FAILED event's reason); "
                            + "the worker serves on")),
            Map.entry("kill", Map.of(
                    400, "The body is not valid JSON, or signal is not TERM or KILL, or id is not a decimal number",
                    404, NO_WORKER,
                    409, "The worker has no running process (its state says why)")),
            Map.entry("signal", Map.of(
                    400, "The body is missing or not valid JSON, or signal is not one of HUP, INT, QUIT, USR1, USR2 "
                            + "(detail says why: TERM and KILL are a kill's), or id is not a decimal number",
                    404, NO_WORKER,
                    409, "The worker has no running process (its state says why)")),
            Map.entry("signalAll", Map.of(
                    400, "The body is missing or not valid JSON, or signal is not one of HUP, INT, QUIT, USR1, USR2 "
                            + "(detail says why: TERM and KILL are a kill's)",
                    409, "No worker has a running process now")),
            Map.entry("events", Map.of(
                    400, "after is not a decimal number (digits 0-9 only), or is below 0")),
            Map.entry("streamEvents", Map.of(
                    400, "With Accept: text/event-stream: Last-Event-ID is not the seq of an event (a decimal number)",
                    503, "With Accept: text/event-stream: " + FleetEventStream.MAX_STREAMS + " event streams are open "
                            + "already, or the master is stopping; try again after Retry-After seconds, or poll "
                            + "GET /fleet/events")),
            Map.entry("logs", Map.of(
                    400, "id, lines, after or streamAfter is not a decimal number (digits 0-9 only: not 0x10, not "
                            + "+5), lines is below 1 (more than fleet.worker.log-lines gives all that is kept), after "
                            + "is no line's seq (below 0, or past the newest line), stream is neither stdout nor "
                            + "stderr, or streamAfter is given without stream, with after, or is no streamSeq of the "
                            + "stream's lines",
                    404, NO_WORKER)));

    @Bean
    OpenAPI adminApi() {
        String version = AdminApiDocs.class.getPackage().getImplementationVersion();
        return new OpenAPI()
                .info(new Info().title("Shepherd admin API")
                        .version(version != null ? version : "development")
                        .description("Scale, reload, replace, kill and signal workers; read their state, events and logs. "
                                + "Every error is an RFC 9457 problem (application/problem+json, the Problem schema); "
                                + "each operation lists the statuses it answers with. Besides those, any request can "
                                + "be refused before it reaches an operation: 400 for a path or header that reads more "
                                + "than one way, 405 for a method the path does not take, 431 for a head too large."))
                .components(new Components()
                        .addSecuritySchemes(TOKEN_SCHEME, new SecurityScheme()
                                .type(SecurityScheme.Type.HTTP).scheme("bearer")
                                .description("fleet.admin.token (when none is set: none needed from the processes of the user that runs "
                                        + "Shepherd and root's on its machine)"))
                        .addSchemas(PROBLEM, problemSchema()))
                .addSecurityItem(new SecurityRequirement().addList(TOKEN_SCHEME));
    }

    /**
     * RFC 9457 problem details as the admin port writes them: by Spring MVC's {@code ProblemDetail} (through
     * {@link AdminErrors} and {@link ErrorDispatch}), and by {@link Problems} and {@code TomcatErrors} before Spring
     * MVC sees the request, which give no {@code instance}. None gives {@code type} (about:blank, RFC 9457 §4.2.1)
     * nor an extension member: what to fix is in {@code detail}.
     */
    static Schema<?> problemSchema() {
        return new JsonSchema().typesItem("object")
                .description("An error, as RFC 9457 problem details. The admin API sends no extension members: "
                        + "detail says what was wrong and what to send instead.")
                .addProperty("type", string("A URI reference that names the kind of problem; absent, as the admin "
                        + "API sends it: about:blank, the kind being the status (RFC 9457 §4.2.1)")
                        .format("uri-reference")._default("about:blank"))
                .addProperty("title", string("The status's reason phrase, or a short summary such as No such worker"))
                .addProperty("status", new JsonSchema().typesItem("integer").format("int32")
                        .description("The HTTP status code, the same as the response's"))
                .addProperty("detail", string("What was wrong with this request and what to send instead"))
                .addProperty("instance", string("The path the request was sent to; absent when the request was "
                        + "refused before the admin API (token, browser guard, body limits, firewall)")
                        .format("uri-reference"))
                .required(List.of("title", "status", "detail"));
    }

    /**
     * Lists on each admin operation the errors it can answer with, each a {@link #PROBLEM} as
     * {@code application/problem+json}: on every one, 401 (a token is set and the request has none or another) and
     * 403 (without a token, another user's process, {@link SocketOwners}; {@link BrowserGuard}: without a token, a
     * Host that is not loopback's; on a command, a page of another origin); on one that takes a body, the refusals of {@link BrowserGuard} (415) and {@link BodyBudget} (411, 413,
     * 503); and those of {@link #ERRORS}. The event stream's 200 is described as {@code text/event-stream}, a stream of
     * events, in place of the Java type SpringDoc reads off its handler.
     */
    @Bean
    OperationCustomizer adminErrorResponses() {
        return AdminApiDocs::describe;
    }

    /**
     * Corrects what SpringDoc reads off the Java types where the JSON differs: a reload's {@code environment} takes
     * null for a value (RFC 7396: remove the variable), which no annotation of a map's values can say; a member that
     * refers to another schema and may be null ({@code @Schema(nullable = true)}, such as a worker's
     * {@code lastExit}), which swagger-core writes as {@code {"type": "null", "$ref": …}}, a schema no value matches
     * (JSON Schema 2020-12 applies both), becomes {@code anyOf} the reference and null; and the event stream's
     * {@code SseEmitter}, described as {@code text/event-stream} instead, is no schema of the API.
     */
    @Bean
    OpenApiCustomizer adminSchemas() {
        return openApi -> {
            Map<String, Schema> schemas = openApi.getComponents().getSchemas();
            if (schemas == null) {
                return;
            }
            schemas.remove(SseEmitter.class.getSimpleName());
            schemas.values().forEach(AdminApiDocs::nullableReferences);
            Schema<?> patch = schemas.get("WorkerSpecPatch");
            Schema<?> environment = patch == null || patch.getProperties() == null ? null
                    : patch.getProperties().get("environment");
            if (environment != null) {
                environment.setAdditionalProperties(new JsonSchema().types(orNull("string"))
                        .description("The variable's new value, or null to remove it"));
            }
        };
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private static void nullableReferences(Schema<?> schema) {
        Map<String, Schema> properties = schema.getProperties();
        if (properties == null) {
            return;
        }
        properties.replaceAll((name, property) -> property.get$ref() == null || property.getTypes() == null
                || !property.getTypes().contains("null") ? property
                : new JsonSchema().description(property.getDescription()).anyOf(List.of(
                        new JsonSchema().$ref(property.get$ref()), new JsonSchema().typesItem("null"))));
    }

    private static Operation describe(Operation operation, HandlerMethod handler) {
        if (handler.getBeanType() != FleetController.class) {
            return operation;
        }
        String name = handler.getMethod().getName();
        Map<Integer, String> specific = ERRORS.get(name);
        if (specific == null) {
            throw new IllegalStateException("AdminApiDocs.ERRORS does not say which errors FleetController." + name
                    + " answers with");
        }
        boolean command = !handler.hasMethodAnnotation(GetMapping.class);
        Map<Integer, ApiResponse> errors = new TreeMap<>();
        errors.put(401, problemResponse("fleet.admin.token is set, and the request has no Authorization: Bearer header, or "
                + "another token").addHeaderObject(HttpHeaders.WWW_AUTHENTICATE, header("Bearer realm=\"shepherd\", "
                + "with error=\"invalid_request\" for an Authorization header that is not Bearer and a token, "
                + "error=\"invalid_token\" for a wrong token")));
        errors.put(403, problemResponse("Without fleet.admin.token: the request came from a process of another user "
                + "than the one that runs Shepherd, and not root's; or the Host is not localhost, 127.0.0.0/8, [::1] nor one of "
                + "fleet.admin.allowed-hosts (DNS rebinding)" + (command ? "; token or not: a page of another origin "
                + "sent it (Sec-Fetch-Site, or an Origin other than the Host)" : "")));
        if (operation.getRequestBody() != null) {
            errors.put(411, problemResponse("The body came without a Content-Length (Transfer-Encoding: chunked)"));
            errors.put(413, problemResponse("The body is larger than " + BodyBudget.MAX_BODY_BYTES + " bytes"));
            errors.put(415, problemResponse("The body is not JSON: send it with Content-Type: application/json"));
        }
        if (command) {
            errors.put(503, problemResponse((operation.getRequestBody() != null ? "The admin port is reading "
                    + BodyBudget.BUDGET_BYTES + " bytes of command bodies at once already: send it again after "
                    + "Retry-After seconds. Or: " : "") + "the supervisor did not get to the command within "
                    + WorkerFleetService.COMMAND_TIMEOUT.toSeconds() + " s (busy starting many workers, say): the "
                    + "command was withdrawn and nothing changed (with Retry-After); or, rarely, it had begun and goes "
                    + "on (no Retry-After: do not send it again; GET /fleet shows when it is done)")
                    .addHeaderObject(HttpHeaders.RETRY_AFTER, header("Seconds to wait, when the command was withdrawn")));
        }
        specific.forEach((status, description) -> {
            ApiResponse response = problemResponse(description);
            if (status == 503) {
                response.addHeaderObject(HttpHeaders.RETRY_AFTER, header("Seconds to wait"));
            }
            errors.put(status, response);
        });
        ApiResponses responses = operation.getResponses() == null ? new ApiResponses() : operation.getResponses();
        errors.forEach((status, response) -> responses.addApiResponse(String.valueOf(status), response));
        operation.setResponses(responses);
        if (SseEmitter.class.isAssignableFrom(handler.getMethod().getReturnType())) {
            describeStream(responses.get("200"));
        }
        return operation;
    }

    /** The 200 of the event stream: text/event-stream, each event's data one FleetEvent as JSON. */
    private static void describeStream(ApiResponse ok) {
        if (ok == null || ok.getContent() == null) {
            return;
        }
        ok.getContent().addMediaType(org.springframework.http.MediaType.TEXT_EVENT_STREAM_VALUE, new MediaType()
                .schema(string("Server-Sent Events (HTML Living Standard): first the comment :connected, then the "
                        + "recent events after Last-Event-ID if it was sent, then each event as it happens, each with "
                        + "id (its seq), event fleet and data one FleetEvent as JSON; a :ping comment every 15 s "
                        + "while there is none. The stream does not end by itself."))
                .example(":connected\n\nid:7\nevent:fleet\ndata:{\"seq\":7,\"at\":\"2026-01-01T12:00:00Z\","
                        + "\"type\":\"READY\",\"workerId\":1,\"pid\":4242,\"message\":\"worker 1 (pid 4242) is READY\"}\n\n"));
    }

    private static ApiResponse problemResponse(String description) {
        return new ApiResponse().description(description).content(new Content().addMediaType(PROBLEM_JSON,
                new MediaType().schema(new JsonSchema().$ref(Components.COMPONENTS_SCHEMAS_REF + PROBLEM))));
    }

    private static Header header(String description) {
        return new Header().description(description).schema(new JsonSchema().typesItem("string"));
    }

    private static Schema<?> string(String description) {
        return new JsonSchema().typesItem("string").description(description);
    }

    /** {@code types} for a value that is {@code type} or null, in OpenAPI 3.1's JSON Schema. */
    private static LinkedHashSet<String> orNull(String type) {
        return new LinkedHashSet<>(List.of(type, "null"));
    }
}
