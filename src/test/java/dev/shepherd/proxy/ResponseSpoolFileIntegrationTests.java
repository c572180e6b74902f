package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * With response buffering on, a file is opened for a response only when its client falls behind: a client that reads
 * a large response as fast as it comes never makes the proxy open one (the write buffer it fills now and then on
 * loopback is drained within {@code ResponseSpooling.SPOOL_AFTER_MILLIS}), while one that stops reading does. Seen from
 * outside the proxy's code, two ways: the {@code shepherd.proxy.responses.spooled} counter, and the master's open
 * files ({@code /proc/<pid>/fd}; the master is this JVM), where a response's file shows, unlinked, in
 * {@code response-temp-path} for as long as it is open.
 */
class ResponseSpoolFileIntegrationTests {

    /** 24 MiB, from {@link ResponseBufferingIntegrationTests#SINGLE_THREADED_WORKER}: byte i is i mod 251. */
    private static final int BIG = 24 << 20;

    /** The downloads that must have been read promptly, and the most tried to get them. */
    private static final int PROMPT_DOWNLOADS = 3;
    private static final int MOST_DOWNLOADS = 10;

    /**
     * A client that never waited this long between two reads is prompt: half of {@code ResponseSpooling.SPOOL_AFTER_MILLIS},
     * the time a client's write buffer stays full before the rest goes to a file. Reads that empty the socket's
     * receive queue each time leave the proxy's write buffer full for not much more than the longest gap.
     */
    private static final long PROMPT_GAP_MILLIS = ResponseSpooling.SPOOL_AFTER_MILLIS / 2;

    private static final long BIG_CRC = crc(BIG);

    @TempDir
    static Path temp;

    private static Path spool;
    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() throws IOException {
        spool = Files.createDirectory(temp.resolve("spool"));
        Path script = Files.writeString(temp.resolve("worker.py"), ResponseBufferingIntegrationTests.SINGLE_THREADED_WORKER);
        shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.worker.command=python3," + script,
                "--fleet.proxy.response-buffering=true", "--fleet.proxy.response-temp-path=" + spool);
    }

    @AfterAll
    static void stop() {
        if (shepherd != null) {
            shepherd.close();
        }
    }

    /**
     * Downloads of 24 MiB, each read as it comes: none makes the proxy open a file, none is counted. Only downloads the
     * client read promptly count, by its own clock: on this 2-core machine shared with other test JVMs, a client
     * thread not scheduled for 100 ms is a client that fell behind, and the proxy is right to keep the rest in a file
     * (seen: 108 ms and 297 ms between two reads, at a load of 11). A proxy that stalled the response itself would
     * leave no download prompt, and fail the first assertion.
     */
    @Test
    void aClientThatReadsPromptlyNeverMakesTheProxyOpenAResponseFile() throws Exception {
        List<Download> prompt = new ArrayList<>();
        List<Download> all = new ArrayList<>();
        while (prompt.size() < PROMPT_DOWNLOADS && all.size() < MOST_DOWNLOADS) {
            Download download = download();
            all.add(download);
            if (download.longestGapMillis() < PROMPT_GAP_MILLIS) {
                prompt.add(download);
            }
        }
        assertThat(prompt).as("downloads read with no gap of %d ms between two reads, of %s", PROMPT_GAP_MILLIS, all)
                .hasSize(PROMPT_DOWNLOADS);
        assertThat(prompt).as("downloads read promptly").allSatisfy(download -> {
            assertThat(download.files()).as("response files the master had open").isEmpty();
            assertThat(download.spooled()).as("responses counted as spooled").isZero();
        });
        assertThat(shepherd.context().getBean(ProxyServer.class).responseSpool().bytes()).isZero();
    }

    /**
     * The same download to a client that reads nothing: the rest of the response goes into a file, open (unlinked)
     * in the spool directory while the client is behind, counted once; it closes once the client has read it all.
     */
    @Test
    void aClientThatStallsMakesTheProxyOpenAResponseFileUntilItHasReadIt() throws Exception {
        double before = spooledResponses();
        try (SpoolFiles files = SpoolFiles.watch(); Socket client = connect(4096)) {
            send(client, "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            InputStream in = client.getInputStream();
            // Counted at the first part the file takes, a moment after it is open.
            await().atMost(Duration.ofSeconds(10)).until(() -> !openFiles().isEmpty() && spooledResponses() > before);
            assertThat(openFiles()).singleElement().asString().endsWith(" (deleted)");
            assertThat(spooledResponses() - before).isEqualTo(1);

            assertThat(RawHttp.readHead(in)).startsWith("HTTP/1.1 200");
            readPattern(in, BIG);
            assertThat(in.read()).isEqualTo(-1);
            await().atMost(Duration.ofSeconds(10)).until(() -> openFiles().isEmpty());
            assertThat(files.seen()).hasSize(1);
        }
        assertThat(shepherd.context().getBean(ProxyServer.class).responseSpool().bytes()).isZero();
    }

    /**
     * One download of {@code /big}: the longest time between two reads that returned bytes (or the first of them and
     * the head), the response files seen open meanwhile, and how many responses were counted as spooled.
     */
    record Download(long longestGapMillis, Set<String> files, double spooled) {
    }

    private static Download download() throws Exception {
        double before = spooledResponses();
        long longestGap;
        SpoolFiles watch = SpoolFiles.watch();
        try (watch; Socket client = connect(0)) {
            send(client, "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            InputStream in = client.getInputStream();
            assertThat(RawHttp.readHead(in)).startsWith("HTTP/1.1 200").contains("Content-Length: " + BIG);
            longestGap = readPromptly(in);
            assertThat(in.read()).as("closed after the response").isEqualTo(-1);
        }
        return new Download(longestGap, watch.seen(), spooledResponses() - before);
    }

    /**
     * Reads the {@link #BIG} bytes of the body as they come, into a buffer that takes all a read can give (a read
     * empties the socket's receive queue), and checks them by their CRC, cheap beside the reads. Returns the longest
     * time between two reads' returns, in milliseconds.
     */
    private static long readPromptly(InputStream in) throws IOException {
        byte[] buffer = new byte[8 << 20];
        CRC32 crc = new CRC32();
        long longestGap = 0;
        long last = System.nanoTime();
        int at = 0;
        while (at < BIG) {
            int read = in.read(buffer, 0, Math.min(buffer.length, BIG - at));
            long now = System.nanoTime();
            if (read < 0) {
                throw new AssertionError("the response ended after " + at + " of " + BIG + " bytes");
            }
            longestGap = Math.max(longestGap, now - last);
            last = now;
            crc.update(buffer, 0, read);
            at += read;
        }
        assertThat(crc.getValue()).as("the body's CRC").isEqualTo(BIG_CRC);
        return TimeUnit.NANOSECONDS.toMillis(longestGap);
    }

    /** The CRC of the first {@code length} bytes of the worker's pattern, byte i being i mod 251. */
    private static long crc(int length) {
        byte[] period = new byte[251];
        for (int i = 0; i < period.length; i++) {
            period[i] = (byte) i;
        }
        CRC32 crc = new CRC32();
        for (int at = 0; at < length; at += period.length) {
            crc.update(period, 0, Math.min(period.length, length - at));
        }
        return crc.getValue();
    }

    private static double spooledResponses() {
        return shepherd.context().getBean(MeterRegistry.class).get("shepherd.proxy.responses.spooled").counter().count();
    }

    /** {@code receiveBuffer}: the client socket's receive buffer, or 0 for the system's. */
    private static Socket connect(int receiveBuffer) throws IOException {
        Socket socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), shepherd.proxyPort()));
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static void send(Socket socket, String request) throws IOException {
        socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    /** Reads {@code length} bytes as fast as they come, checking each is its index mod 251. */
    private static void readPattern(InputStream in, int length) throws IOException {
        byte[] buffer = new byte[256 * 1024];
        int at = 0;
        while (at < length) {
            int read = in.read(buffer, 0, Math.min(buffer.length, length - at));
            if (read < 0) {
                throw new AssertionError("the response ended after " + at + " of " + length + " bytes");
            }
            for (int i = 0; i < read; i++, at++) {
                if (buffer[i] != (byte) (at % 251)) {
                    throw new AssertionError("byte " + at + " is " + (buffer[i] & 0xFF) + ", not " + at % 251);
                }
            }
        }
    }

    /** The master's open files in the spool directory now, as {@code /proc/<pid>/fd} links them. */
    private static Set<String> openFiles() {
        Set<String> open = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "fd"))) {
            fds.forEach(fd -> {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith(spool + "/")) {
                        open.add(target);
                    }
                } catch (NoSuchFileException closed) {
                    // Closed since it was listed.
                } catch (IOException ex) {
                    throw new UncheckedIOException(ex);
                }
            });
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return open;
    }

    /** Every response file seen open while it watches, by its path, looking every 2 ms on a thread of its own. */
    private static final class SpoolFiles implements AutoCloseable {

        /** Between two looks: the watcher samples, it waits for nothing. */
        private static final long LOOK_NANOS = 2_000_000;

        private final Set<String> seen = ConcurrentHashMap.newKeySet();
        private final Thread watcher = new Thread(this::look, "spool-files");
        private volatile boolean watching = true;
        /** Why a look failed: it fails the test at {@link #close}, rather than leave it seeing nothing. */
        private volatile RuntimeException failure;

        static SpoolFiles watch() {
            SpoolFiles files = new SpoolFiles();
            files.watcher.setDaemon(true);
            files.watcher.start();
            return files;
        }

        private void look() {
            try {
                while (watching) {
                    // A file is caught now and then in the moment between its opening and its unlinking.
                    openFiles().forEach(file -> seen.add(file.replace(" (deleted)", "")));
                    LockSupport.parkNanos(LOOK_NANOS);
                }
            } catch (RuntimeException ex) {
                failure = ex;
            }
        }

        Set<String> seen() {
            return Set.copyOf(seen);
        }

        @Override
        public void close() throws InterruptedException {
            watching = false;
            watcher.join(5_000);
            if (failure != null) {
                throw failure;
            }
        }
    }
}
