package dev.shepherd.ctl;

import org.jline.terminal.Attributes;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.AttributedString;
import org.jline.utils.AttributedStyle;
import org.jline.utils.Display;
import org.jline.utils.InfoCmp.Capability;
import org.jline.utils.NonBlockingReader;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The live screen of {@code shepherd top} on the system terminal, through JLine: the alternate screen in raw mode,
 * redrawn by JLine's {@link Display} (which rewrites only what changed) until {@code q}, {@code Q} or Ctrl-C, then
 * the terminal as it was. Three threads: a reader of the fleet's events (each one asks for a new frame; when the
 * stream breaks it reconnects every second), a poller that reads {@code GET /fleet} when asked and at least once a
 * tick (a second, or {@code top -d}'s delay: for uptimes and rates) but at most every {@value #MIN_FRAME_MILLIS} ms
 * however many events come, and the
 * calling thread, which alone writes to the terminal and reads keys. A master that does not answer is shown as
 * "master unreachable, retrying" with the table last seen.
 */
final class TopView {

    static final long MIN_FRAME_MILLIS = 200;
    static final long TICK_MILLIS = 1000;
    static final long RECONNECT_MILLIS = 1000;

    private final AdminClient client;
    private final TopScreen screen;
    /** The longest the view goes without reading the fleet, at least {@link #MIN_FRAME_MILLIS}. */
    private final long tickMillis;
    private final CountDownLatch quit = new CountDownLatch(1);
    /** A permit asks the poller for a new read of the fleet. */
    private final Semaphore stale = new Semaphore(0);
    /** A permit asks the terminal thread to draw the latest frame. */
    private final Semaphore redraw = new Semaphore(0);
    private volatile List<String> frame = List.of("shepherd top: reading the fleet…");
    private volatile EventStream events;

    TopView(AdminClient client) {
        this(client, TICK_MILLIS);
    }

    TopView(AdminClient client, long tickMillis) {
        this.client = client;
        this.tickMillis = Math.max(MIN_FRAME_MILLIS, tickMillis);
        this.screen = new TopScreen(client.url().toString(), true);
    }

    /** Runs until the operator quits; returns the exit code. The calling thread owns the terminal. */
    int run() throws IOException, InterruptedException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
            Attributes saved = terminal.enterRawMode();
            terminal.handle(Terminal.Signal.INT, signal -> stop());
            terminal.handle(Terminal.Signal.WINCH, signal -> redraw.release());
            terminal.puts(Capability.enter_ca_mode);
            terminal.puts(Capability.cursor_invisible);
            terminal.flush();
            try {
                startReading();
                start("top-keys", () -> readKeys(terminal.reader()));
                draw(terminal);
            } finally {
                stop();
                terminal.puts(Capability.cursor_visible);
                terminal.puts(Capability.exit_ca_mode);
                terminal.setAttributes(saved);
                terminal.flush();
            }
        }
        return Ctl.OK;
    }

    /** Starts the reader of events and the poller, which keep {@link #frame()} current until {@link #stop()}. */
    void startReading() {
        start("top-events", this::followEvents);
        start("top-poller", this::poll);
    }

    /** The latest frame. Any thread. */
    List<String> frame() {
        return frame;
    }

    private void draw(Terminal terminal) throws InterruptedException {
        Display display = new Display(terminal, true);
        Size size = null;
        while (quit.getCount() > 0) {
            if (!usable(terminal.getSize()).equals(size)) {
                size = usable(terminal.getSize());
                display.clear();
                display.resize(size.getRows(), size.getColumns());
            }
            display.update(styled(frame, size), -1);
            terminal.flush();
            redraw.acquire();
            redraw.drainPermits();
        }
    }

    /**
     * {@code size}, or 80 columns by 24 rows where the terminal reports none (a pseudo-terminal that was never
     * sized, as some {@code docker exec -t}, {@code kubectl exec -t} and CI runners give: 0 by 0), as {@code less}
     * and {@code top} assume. JLine's display cannot draw into no columns.
     */
    static Size usable(Size size) {
        return new Size(size.getColumns() > 0 ? size.getColumns() : 80, size.getRows() > 0 ? size.getRows() : 24);
    }

    /** The frame cut to the terminal's size, the title bold and the table's header reversed. */
    static List<AttributedString> styled(List<String> frame, Size size) {
        List<AttributedString> lines = new ArrayList<>();
        for (int row = 0; row < frame.size() && row < Math.max(1, size.getRows() - 1); row++) {
            String line = frame.get(row);
            AttributedStyle style = row == 0 ? AttributedStyle.BOLD
                    : line.startsWith("ID  ") ? AttributedStyle.INVERSE : AttributedStyle.DEFAULT;
            lines.add(new AttributedString(line, style).columnSubSequence(0, Math.max(1, size.getColumns())));
        }
        return lines;
    }

    private void readKeys(NonBlockingReader keys) {
        try {
            while (quit.getCount() > 0) {
                int key = keys.read(TICK_MILLIS);
                if (key == 'q' || key == 'Q' || key == 3 || key == NonBlockingReader.EOF) {
                    stop();
                }
            }
        } catch (IOException ex) {
            stop();
        }
    }

    private void poll() {
        try {
            while (quit.getCount() > 0) {
                try {
                    frame = screen.frame(client.get("/fleet"), client.health(), Instant.now(), System.nanoTime());
                } catch (CtlException ex) {
                    frame = screen.unreachable(ex.getMessage(), Instant.now());
                }
                redraw.release();
                // At most one read per MIN_FRAME_MILLIS, however many events came; at least one per tick.
                if (quit.await(MIN_FRAME_MILLIS, TimeUnit.MILLISECONDS)) {
                    return;
                }
                stale.tryAcquire(tickMillis - MIN_FRAME_MILLIS, TimeUnit.MILLISECONDS);
                stale.drainPermits();
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private void followEvents() {
        try {
            while (quit.getCount() > 0) {
                try (EventStream stream = EventStream.open(client)) {
                    events = stream;
                    stale.release();
                    stream.forEach(event -> {
                        stale.release();
                        return quit.getCount() > 0;
                    });
                } catch (CtlException ex) {
                    stale.release();
                }
                quit.await(RECONNECT_MILLIS, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    /** Ends the view: the threads stop and the terminal thread returns. Any thread. */
    void stop() {
        quit.countDown();
        redraw.release();
        stale.release();
        EventStream stream = events;
        if (stream != null) {
            stream.close();
        }
    }

    private static void start(String name, Runnable task) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        thread.start();
    }
}
