package dev.shepherd.admin;

import dev.shepherd.SignalNames;
import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.fleet.WorkerFleetService;
import dev.shepherd.fleet.WorkerSpecPatch;
import dev.shepherd.worker.LogBuffer;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import lombok.RequiredArgsConstructor;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The admin API on the admin port: thin over {@link WorkerFleetService}. */
@RestController
@RequestMapping(path = "/fleet", produces = MediaType.APPLICATION_JSON_VALUE)
@RequiredArgsConstructor
class FleetController {

    /** JSON by another name ({@code application/merge-patch+json}, a vendor's {@code +json}: RFC 6839 §3.1), as BrowserGuard lets through. */
    static final String JSON_SUFFIXED = "application/*+json";

    private final WorkerFleetService fleet;
    private final FleetEventStream eventStream;
    private final Clock clock;
    private final TrafficTotals traffic;

    /** Scale request body. */
    record ScaleRequest(@NotNull(message = "give the number of workers, e.g. {\"workers\": 3}") Integer workers) {
    }

    /** Kill request body; the signal defaults to TERM. */
    record KillRequest(@Schema(allowableValues = {"TERM", "KILL"}, defaultValue = "TERM") String signal) {
    }

    /**
     * The answer to a scale: the number of workers the fleet now keeps running, and the number it kept before, which
     * is the same when the scale changed nothing (a scale to the count desired already): a client tells its user so.
     */
    record Scaled(int desired, @Schema(description = "The number desired before the scale; equal to desired when "
            + "nothing changed") int previous) {
    }

    /** The answer to a replace: the worker replaced and the id of the new worker that takes over from it. */
    record Replacing(int worker, int replacement) {
    }

    /** The answer to a kill: the worker and the signal sent to it. */
    record Killed(int worker, @Schema(allowableValues = {"TERM", "KILL"}) String signal) {
    }

    /** Signal request body: a signal that is not meant to stop the worker. */
    record SignalRequest(@Schema(description = "The signal, in any case, with or without SIG, or its number as Linux "
            + "numbers it (1, 2, 3, 10, 12)", allowableValues = {"HUP", "INT", "QUIT", "USR1", "USR2"},
            requiredMode = Schema.RequiredMode.REQUIRED, example = "USR2") String signal) {
    }

    /** The answer to a signal to one worker: the worker and the signal sent to its process, by name. */
    record Signalled(int worker, @Schema(allowableValues = {"HUP", "INT", "QUIT", "USR1", "USR2"}) String signal) {
    }

    /** The answer to a signal to every worker: the signal, by name, and the workers whose process it was sent to. */
    record SignalledAll(@Schema(allowableValues = {"HUP", "INT", "QUIT", "USR1", "USR2"}) String signal,
                        @Schema(description = "The ids of the workers that had a running process, lowest first")
                        List<Integer> workers) {
    }

    /** Both handlers of {@code GET /fleet/events} are one operation of the OpenAPI document: it says what each gives. */
    static final String EVENTS_SUMMARY = "The recent events, oldest first; with Accept: text/event-stream, the events "
            + "as they happen (Server-Sent Events)";
    static final String EVENTS_DESCRIPTION = "As JSON (Accept: application/json, or none): the recent events, oldest "
            + "first. As text/event-stream: a stream that does not end, with first the recent events after "
            + "Last-Event-ID (an event's seq, as a reconnecting EventSource sends it) when given, then each event as it "
            + "happens.";

    @Operation(summary = "The fleet: desired, ready and actual counts, the latest reload, and every worker")
    @GetMapping
    FleetView fleet() {
        return FleetView.of(fleet.snapshot(), traffic.read(), clock);
    }

    @Operation(summary = "One worker by its id (an id, not an index)")
    @GetMapping("/workers/{id}")
    FleetView.WorkerView worker(@PathVariable int id) {
        return fleet.snapshot().workers().stream().filter(worker -> worker.id() == id).findFirst()
                .map(worker -> FleetView.WorkerView.of(worker, clock))
                .orElseThrow(() -> fleet.noSuchWorker(id));
    }

    @Operation(summary = "Sets the number of workers: scaling up spawns, scaling down drains the highest indexes; "
            + "the answer's previous equals desired when nothing changed")
    @PostMapping(path = "/scale", consumes = {MediaType.APPLICATION_JSON_VALUE, JSON_SUFFIXED})
    @ResponseStatus(HttpStatus.ACCEPTED)
    Scaled scale(@Valid @RequestBody ScaleRequest request) {
        try {
            return new Scaled(request.workers(), fleet.scale(request.workers()));
        } catch (IllegalArgumentException ex) {
            throw new InvalidRequestException(ex.getMessage());
        }
    }

    /**
     * Starts a rolling reload; the optional JSON body changes what the new generation runs (see {@link ReloadRequests}
     * and {@link WorkerSpecPatch}; no body or {@code {}}: the same spec). A body that is not JSON is refused with 415
     * by {@link BrowserGuard}; an invalid one with 400 naming the field, before anything starts; 409 while a reload or
     * its rollback runs.
     */
    @Operation(summary = "Starts a rolling reload, surge-first, optionally with a new worker spec")
    @PostMapping("/reload")
    @ResponseStatus(HttpStatus.ACCEPTED)
    // Read by ReloadRequests, not bound: described here so that /v3/api-docs shows the body.
    @io.swagger.v3.oas.annotations.parameters.RequestBody(required = false, description = "What the new generation "
            + "runs, changed from the current spec; a field left out keeps its value; environment is a JSON Merge Patch "
            + "(RFC 7396: null removes a variable). No body or {}: the same spec.", content = @Content(
            mediaType = MediaType.APPLICATION_JSON_VALUE, schema = @Schema(implementation = WorkerSpecPatch.class)))
    ReloadStatus reload(HttpServletRequest request) throws IOException {
        return fleet.reload(ReloadRequests.read(request.getInputStream()));
    }

    /**
     * Starts a rolling reload back to the spec the last successful reload replaced ({@code kubectl rollout undo});
     * takes no body. While a reload runs, stops it instead: the status says FAILED, undone, and its workers that took
     * over are rolled back. 409 when no reload has succeeded since the master started, or while a rollback runs.
     */
    @Operation(summary = "Starts a rolling reload back to the spec the last successful reload replaced; stops a "
            + "running reload and rolls it back")
    @PostMapping("/reload/undo")
    @ResponseStatus(HttpStatus.ACCEPTED)
    ReloadStatus undo() {
        return fleet.undo();
    }

    /** The latest reload: its state and progress, and when it failed, why ({@code problem}). */
    @Operation(summary = "The latest reload: its state, progress and, when it failed, why")
    @GetMapping("/reload")
    ReloadStatus reloadStatus() {
        return fleet.snapshot().reload();
    }

    /**
     * Replaces a READY worker, surge-first (a new worker with a new id; a crash restart keeps the id), or starts an
     * EXITED one again (restart policy never or on-failure). Takes no body
     * (a JSON one is ignored). {@code /restart}, its name before the 8th session, is kept as an alias (README changelog).
     * 409 while a reload runs (it replaces every worker) or when the worker is neither READY nor EXITED, or already
     * being replaced;
     * 500 when the new worker's program cannot be started at all (the SPAWN_FAILED event's reason), the old one serving on.
     */
    @Operation(summary = "Replaces a READY worker, surge-first, or starts an EXITED one again")
    @PostMapping({"/workers/{id}/replace", "/workers/{id}/restart"})
    @ResponseStatus(HttpStatus.ACCEPTED)
    Replacing replace(@PathVariable int id) {
        return new Replacing(id, fleet.replace(id));
    }

    @Operation(summary = "Sends a worker TERM or KILL; the supervisor restarts it")
    @PostMapping(path = "/workers/{id}/kill", consumes = {MediaType.APPLICATION_JSON_VALUE, JSON_SUFFIXED})
    @ResponseStatus(HttpStatus.ACCEPTED)
    Killed kill(@PathVariable int id, @RequestBody(required = false) KillRequest request) {
        String signal = request == null || request.signal() == null ? "TERM" : SignalNames.of(request.signal());
        if (!signal.equals("TERM") && !signal.equals("KILL")) {
            String other = SignalNames.request(request.signal());
            throw new InvalidRequestException("signal must be TERM or KILL (any case, with or without SIG), not "
                    + Problems.quote(request.signal()) + (other == null ? "" : "; " + other + " is not meant to stop a "
                    + "worker: send it with POST /fleet/workers/" + id + "/signal (shepherd signal " + other + " " + id
                    + ")"));
        }
        fleet.kill(id, signal);
        return new Killed(id, signal);
    }

    /**
     * Sends a signal that is not meant to stop it to the worker's own process (not its descendants), as {@code pm2
     * sendSignal} and {@code docker kill --signal} do: HUP, INT, QUIT, USR1 or USR2. A worker that does not handle it
     * and exits is restarted; its exit says the signal ended it.
     */
    @Operation(summary = "Sends a worker's process a signal that is not meant to stop it: HUP, INT, QUIT, USR1 or USR2")
    @PostMapping(path = "/workers/{id}/signal", consumes = {MediaType.APPLICATION_JSON_VALUE, JSON_SUFFIXED})
    @ResponseStatus(HttpStatus.ACCEPTED)
    Signalled signal(@PathVariable int id, @RequestBody(required = false) SignalRequest request) {
        String signal = requestedSignal(request);
        fleet.signal(id, signal);
        return new Signalled(id, signal);
    }

    /** As {@link #signal}, to every worker that has a running process now. */
    @Operation(summary = "Sends every worker's process a signal that is not meant to stop it: HUP, INT, QUIT, USR1 or "
            + "USR2")
    @PostMapping(path = "/signal", consumes = {MediaType.APPLICATION_JSON_VALUE, JSON_SUFFIXED})
    @ResponseStatus(HttpStatus.ACCEPTED)
    SignalledAll signalAll(@RequestBody(required = false) SignalRequest request) {
        String signal = requestedSignal(request);
        return new SignalledAll(signal, fleet.signalAll(signal));
    }

    /** The signal a signal request names, by name; a 400 that names the ones taken when it names none of them. */
    private static String requestedSignal(SignalRequest request) {
        if (request == null || request.signal() == null || request.signal().isBlank()) {
            throw new InvalidRequestException("give the signal to send, such as {\"signal\": \"USR2\"}: "
                    + SignalNames.TAKEN);
        }
        String signal = SignalNames.request(request.signal());
        if (signal == null) {
            throw new InvalidRequestException("signal must be " + SignalNames.TAKEN + ", not "
                    + Problems.quote(request.signal()) + SignalNames.whyNot(request.signal()));
        }
        return signal;
    }

    /**
     * The recent events; with {@code after} (an event's {@code seq}), only those numbered above it, as the stream's
     * {@code Last-Event-ID} does: a poller ({@code logs -f}) gets what is new, not the 1,000 recent events each time.
     */
    @Operation(summary = EVENTS_SUMMARY, description = EVENTS_DESCRIPTION)
    @GetMapping("/events")
    List<FleetEvent> events(@Parameter(description = "As JSON: the seq of the last event seen; the answer is the "
            + "recent events numbered above it") @RequestParam(required = false) Long after) {
        List<FleetEvent> recent = fleet.events().recent();
        if (after == null) {
            return recent;
        }
        if (after < 0) {
            throw new InvalidRequestException("after must be the seq of an event, 0 or more, not " + after);
        }
        return recent.stream().filter(event -> event.seq() > after).toList();
    }

    /**
     * The events as they happen; with {@code Last-Event-ID} (an event's {@code seq}, as a reconnecting EventSource
     * sends it), first the recent ones after it. {@code 503} with {@code Retry-After} when {@value
     * FleetEventStream#MAX_STREAMS} streams are open.
     */
    @Operation(summary = EVENTS_SUMMARY, description = EVENTS_DESCRIPTION)
    @GetMapping(path = "/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    SseEmitter streamEvents(@Parameter(description = "With Accept: text/event-stream, the seq of the last event seen: "
            + "the stream starts with the recent events after it") @RequestHeader(name = "Last-Event-ID", required = false)
            String lastEventId,
            HttpServletRequest request, HttpServletResponse response) throws IOException {
        if ("HEAD".equals(request.getMethod())) {
            // Its head only: a stream whose body Tomcat drops would never fail a write, and hold its place for ever.
            response.setContentType(MediaType.TEXT_EVENT_STREAM_VALUE);
            return null;
        }
        long lastSeen = Long.MAX_VALUE;
        if (lastEventId != null && !lastEventId.isBlank()) {
            try {
                lastSeen = DecimalNumbers.parseLong(lastEventId.strip());
            } catch (NumberFormatException ex) {
                throw new InvalidRequestException("Last-Event-ID must be the seq of an event (a decimal number), not "
                        + Problems.quote(lastEventId));
            }
        }
        Optional<SseEmitter> emitter = eventStream.open(lastSeen);
        if (emitter.isEmpty()) {
            response.setHeader(HttpHeaders.RETRY_AFTER, "5");
            Problems.write(request, response, HttpStatus.SERVICE_UNAVAILABLE, !eventStream.stopping() ? FleetEventStream.MAX_STREAMS
                    + " event streams are open, the most the admin port keeps; close one, or poll GET /fleet/events"
                    : "the master is stopping");
            return null;
        }
        return emitter.get();
    }

    /**
     * The newest lines; with {@code after}, the first lines after that one instead, led by a marker of how many were
     * dropped before they could be read (journald's {@code --after-cursor}, by a line's {@code seq}); with
     * {@code stream} and {@code streamAfter}, the same by the numbers of that stream's lines ({@code streamSeq}), the
     * marker counting that stream's lines only.
     */
    @Operation(summary = "A worker's last output lines, or those after a line (after=seq, or stream and "
            + "streamAfter=streamSeq)")
    @GetMapping("/workers/{id}/logs")
    List<LogLine> logs(@PathVariable int id, @RequestParam(defaultValue = "100") long lines,
                       @Parameter(description = "The seq of the last line read (0: before the first): the answer is "
                               + "the first lines after it, at most lines of them, led by a marker when some were "
                               + "dropped before they were read") @RequestParam(required = false) Long after,
                       @Parameter(description = "stdout or stderr: that stream's lines only (PM2's --out, --err)")
                       @RequestParam(required = false) String stream,
                       @Parameter(description = "With stream, in place of after: the streamSeq of the last line of "
                               + "that stream read (0: before its first); the marker of lines dropped counts that "
                               + "stream's only") @RequestParam(required = false) Long streamAfter) {
        LogBuffer buffer = fleet.logs(id).orElseThrow(() -> fleet.noSuchWorker(id));
        if (lines < 1) {
            throw new InvalidRequestException("lines must be at least 1, not " + lines);
        }
        // More than the master keeps (fleet.worker.log-lines) gives all it keeps, as tail -n and kubectl logs --tail
        // do (a new user's PM2 habit, logs -n 5000, was refused).
        int count = (int) Math.min(lines, fleet.logLines());
        LogBuffer.Stream only = stream(stream);
        if (streamAfter != null) {
            return LogLine.afterInStream(buffer, id, count, only, after, streamAfter);
        }
        if (after == null) {
            return buffer.last(count, only).stream().map(LogLine::of).toList();
        }
        long newest = buffer.newestSeq();
        if (after < 0 || after > newest) {
            // Numbers only grow: one past the newest is not from this master's answers (another master's, made up).
            throw new InvalidRequestException("after must be the seq of a line of worker " + id + ", 0 to " + newest
                    + " (its newest), not " + after);
        }
        LogBuffer.Page page = buffer.after(after, count, only);
        List<LogLine> answer = new ArrayList<>(page.entries().size() + 1);
        if (page.missed() > 0) {
            answer.add(LogLine.missed(buffer, after + page.missed(), page.missed()));
        }
        page.entries().forEach(entry -> answer.add(LogLine.of(entry)));
        return answer;
    }

    /** The stream a {@code stream} parameter names; null (both) when there is none. */
    private static LogBuffer.Stream stream(String stream) {
        if (stream == null) {
            return null;
        }
        for (LogBuffer.Stream each : LogBuffer.Stream.values()) {
            if (each.label().equals(stream)) {
                return each;
            }
        }
        throw new InvalidRequestException("stream must be stdout or stderr, not " + Problems.quote(stream));
    }
}
