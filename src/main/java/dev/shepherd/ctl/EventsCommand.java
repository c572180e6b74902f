package dev.shepherd.ctl;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code shepherd events}: the fleet's recent events ({@code GET /fleet/events}), and with {@code -f} the ones that
 * follow, from the event stream, until the master stops or the user interrupts.
 */
@Command(name = "events", description = "Shows the fleet's recent events (SPAWNED, READY, PROCESS_EXITED, ...); -f follows them live.")
class EventsCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    @Option(names = {"-f", "--follow"}, description = "Keep printing events as they happen.")
    boolean follow;

    @Option(names = {"-n", "--lines"}, paramLabel = "N", defaultValue = "20", description = "How many recent events to show first (default: ${DEFAULT-VALUE}).")
    int count;

    @Option(names = "--json", description = "Print the API's JSON: the list of the last N events, with -f one event per line.")
    boolean json;

    @Override
    public Integer call() {
        if (count < 0) {
            // A usage error, with "(see shepherd events --help)" as every other one (found by an attacking helper).
            throw new CommandLine.ParameterException(spec.commandLine(), Ctl.typedName(spec, "-n") + " must be 0 or more, not " + count);
        }
        if (!follow) {
            if (json) {
                // The API's list, its last -n events (as logs --json keeps -n lines): -n was ignored here.
                ctl.out().println(Json.MAPPER.writeValueAsString(recent()));
            } else {
                recent().forEach(this::print);
            }
            return Ctl.OK;
        }
        // Subscribe first, then read the recent ones: nothing falls between the two, and seq drops the overlap.
        try (EventStream stream = EventStream.open(ctl.client())) {
            List<JsonNode> recent = recent();
            long[] last = {0};
            recent.forEach(event -> {
                print(event);
                last[0] = Math.max(last[0], event.path("seq").asLong());
            });
            stream.forEach(event -> {
                if (event.path("seq").asLong() > last[0]) {
                    print(event);
                }
                return true;
            });
        }
        // As logs -f ends when the master cannot be reached: a script can tell the stream is over.
        throw new CtlException("the master ended the event stream: it stopped or restarted", Ctl.UNREACHABLE);
    }

    private List<JsonNode> recent() {
        List<JsonNode> all = List.copyOf(ctl.client().get("/fleet/events").values());
        return all.subList(Math.max(0, all.size() - count), all.size());
    }

    private void print(JsonNode event) {
        ctl.out().println(json ? Json.MAPPER.writeValueAsString(event) : EventStream.describe(event));
        ctl.out().flush();
    }
}
