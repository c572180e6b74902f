package dev.shepherd.testsupport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When the timed parts of a stream reached the client, against when the worker sent them: each part is a line
 * carrying {@code "sentAt":<epoch ms>} (streaming-worker.js), and its delay is its arrival here minus that. Both
 * clocks are this machine's wall clock, read to the microsecond.
 */
public final class Arrivals {

    private static final Pattern SENT_AT = Pattern.compile("\"sentAt\":([0-9.]+)");

    /** One part: the worker's send time and this JVM's arrival time, in epoch milliseconds. */
    public record Arrival(double sentAt, double receivedAt) {

        public double delayMillis() {
            return receivedAt - sentAt;
        }
    }

    private Arrivals() {
    }

    /** The wall clock now, in epoch milliseconds with microseconds. */
    public static double nowMillis() {
        return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()) / 1000.0;
    }

    /** Reads lines until {@code count} timed parts arrived or the stream ended, and times each on arrival. */
    public static List<Arrival> read(InputStream in, int count) {
        List<Arrival> arrivals = new ArrayList<>();
        try {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while (arrivals.size() < count && (line = reader.readLine()) != null) {
                double now = nowMillis();
                Matcher matcher = SENT_AT.matcher(line);
                if (matcher.find()) {
                    arrivals.add(new Arrival(Double.parseDouble(matcher.group(1)), now));
                }
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return arrivals;
    }

    /** The delays in milliseconds, sorted, for assertions and their messages. */
    public static List<Double> delays(List<Arrival> arrivals) {
        return arrivals.stream().map(Arrival::delayMillis).map(delay -> Math.round(delay * 10) / 10.0).sorted().toList();
    }

    /** The median delay in milliseconds. */
    public static double median(List<Arrival> arrivals) {
        List<Double> delays = delays(arrivals);
        return delays.isEmpty() ? Double.NaN : delays.get(delays.size() / 2);
    }
}
