package dev.shepherd.proxy;

import dev.shepherd.InvalidSetting;
import dev.shepherd.ShepherdApplication;
import dev.shepherd.fleet.ProxyTransport;
import dev.shepherd.testsupport.FreePorts;
import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Traffic;
import dev.shepherd.worker.OrphanGuard;
import io.netty.channel.Channel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.PortInUseException;
import org.springframework.context.ConfigurableApplicationContext;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * The proxy behaves the same on every transport it can run on: the rest of the suite runs on the default one
 * ({@code auto}: io_uring where the kernel allows it), this class runs the essentials on each of them.
 */
class TransportIntegrationTests {

    @ParameterizedTest
    @EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void proxyRoundRobinsStreamsRejectsAmbiguousFramingAndHidesAKilledWorker(ProxyTransport transport) throws Exception {
        assumeUsableHere(transport);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-'))) {
            assertThat(shepherd.proxyTransport()).isEqualTo(transport.name().toLowerCase());
            Set<String> pids = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> response = shepherd.get("/echo");
                assertThat(response.statusCode()).isEqualTo(200);
                pids.add(response.body().substring(0, response.body().indexOf('\n')));
            }
            assertThat(pids).as("workers that answered").hasSize(2);

            byte[] upload = new byte[300 * 1024];
            HttpResponse<String> posted = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/upload"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(upload)).build());
            assertThat(posted.body()).contains("method=POST", "body=" + upload.length);
            assertThat(shepherd.get("/bytes?n=" + (1024 * 1024)).body()).hasSize(1024 * 1024);

            String smuggled = RawHttp.exchange(shepherd.proxyPort(), "POST /smuggle HTTP/1.1\r\nHost: a\r\n"
                    + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /evil HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(RawHttp.status(smuggled)).isEqualTo(400);
            assertThat(smuggled).doesNotContain("uri=/evil");

            try (Traffic traffic = Traffic.start(shepherd, "/", 8)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > 100);
                List<Long> ready = shepherd.readyPids();
                ProcessHandle.of(ready.get(0)).ifPresent(ProcessHandle::destroyForcibly);
                await().atMost(Duration.ofSeconds(15)).until(() -> !shepherd.readyPids().contains(ready.get(0))
                        && shepherd.readyPids().size() == 2);
                int before = traffic.ok();
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > before + 100);
                traffic.close();
                assertThat(traffic.failures()).as("failed requests on " + transport).isEmpty();
            }
        }
    }

    /**
     * Every event loop accepts its own connections where the transport lets it: with one loop, one listening socket
     * and no {@code proxy-accept} thread; with two on io_uring and epoll, a listening socket per loop
     * ({@code SO_REUSEPORT}) and no such thread either; with two on NIO, one socket and the thread that accepts for
     * both. A burst of connections, one request each, as ab sends them, is served whole every time.
     */
    @ParameterizedTest
    @EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void eachEventLoopAcceptsItsOwnConnectionsWhereTheTransportAllows(ProxyTransport transport) throws Exception {
        assumeUsableHere(transport);
        String transportArgument = "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-');
        try (RunningShepherd two = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                transportArgument, "--fleet.proxy.event-loops=2")) {
            assertThat(acceptorThreads()).as("acceptor threads with two loops").hasSize(listensPerLoop(transport) ? 0 : 1);
            assertThat(listeningSockets(two.proxyPort())).as("listening sockets with two loops").isEqualTo(listensPerLoop(transport) ? 2 : 1);
            assertThat(listenerLoops(two)).as("event loops the listening sockets are registered on")
                    .isEqualTo(listensPerLoop(transport) ? 2 : 1);
            if (listensPerLoop(transport)) {
                try (Socket sameUser = new Socket()) { // what README's Security section warns of
                    sameUser.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                    sameUser.bind(new InetSocketAddress("127.0.0.1", two.proxyPort()));
                }
            }
            assertServesAConnectionPerRequest(two);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> acceptorThreads().isEmpty());
        try (RunningShepherd one = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                transportArgument, "--fleet.proxy.event-loops=1")) {
            assertThat(acceptorThreads()).as("acceptor threads with one loop").isEmpty();
            assertThat(listeningSockets(one.proxyPort())).as("listening sockets with one loop").isEqualTo(1);
            assertServesAConnectionPerRequest(one);
        }
    }

    /**
     * A port in use stops the start with Spring Boot's {@link PortInUseException} (printed as "Port N was already in
     * use"), also when what holds it is another Shepherd whose event loops listen with {@code SO_REUSEPORT}: the
     * kernel would let a second such group share the port and split the connections between the two, which the bind
     * without the option, first, prevents. The failed start leaves no worker behind.
     */
    @ParameterizedTest
    @EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void aPortInUseStopsTheStartEvenWhenAnotherShepherdHoldsIt(ProxyTransport transport) throws Exception {
        assumeUsableHere(transport);
        String transportArgument = "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-');
        try (ServerSocket plain = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            assertStartFailsWithPortInUse(plain.getLocalPort(), transportArgument);
        }
        try (RunningShepherd first = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                transportArgument, "--fleet.proxy.event-loops=2")) {
            List<Long> before = descendantsButGuardSleepers();
            assertStartFailsWithPortInUse(first.proxyPort(), transportArgument);
            assertThat(listeningSockets(first.proxyPort())).as("listening sockets").isEqualTo(listensPerLoop(transport) ? 2 : 1);
            assertThat(first.get("/echo").statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(descendantsButGuardSleepers())
                    .as("child processes of the test JVM").containsExactlyInAnyOrderElementsOf(before));
        }
    }

    /**
     * {@code fleet.proxy.reuse-port=false}: on io_uring and epoll too, one listening socket, which no other socket can
     * share, and the thread that accepts for every loop.
     */
    @ParameterizedTest
    @EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL"})
    void withoutReusePortOneSocketListensAndAThreadAcceptsForEveryLoop(ProxyTransport transport) throws Exception {
        assumeUsableHere(transport);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-'),
                "--fleet.proxy.event-loops=2", "--fleet.proxy.reuse-port=false")) {
            assertThat(acceptorThreads()).as("acceptor threads").hasSize(1);
            assertThat(listeningSockets(shepherd.proxyPort())).as("listening sockets").isEqualTo(1);
            try (Socket other = new Socket()) {
                other.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                assertThatThrownBy(() -> other.bind(new InetSocketAddress("127.0.0.1", shepherd.proxyPort())))
                        .as("another socket with SO_REUSEPORT on the proxy's port").isInstanceOf(BindException.class)
                        .hasMessageContaining("in use");
            }
            assertServesAConnectionPerRequest(shepherd);
        }
    }

    /**
     * {@code fleet.proxy.defer-accept} (on by default): every listening socket has {@code TCP_DEFER_ACCEPT}, a client
     * that connects and says nothing is not taken in until the kernel gives up waiting for its bytes (one SYN-ACK
     * retransmission, about a second), and one that sends its request at once is served at once. Off, the silent
     * connection is taken in at once.
     */
    @ParameterizedTest
    @EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL"})
    void aSilentConnectionReachesTheProxyOnlyWhenTheKernelStopsWaitingForItsBytes(ProxyTransport transport)
            throws Exception {
        assumeUsableHere(transport);
        String transportArgument = "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-');
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                transportArgument, "--fleet.proxy.event-loops=2")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            NettyTransport native_ = NettyTransport.select(transport);
            assertThat(proxy.listeners()).allSatisfy(listener -> assertThat(listener.config()
                    .getOption(native_.deferAcceptOption())).isEqualTo(ProxyServer.DEFER_ACCEPT_SECONDS));
            // A first request through a cold proxy and worker can take hundreds of ms on a loaded host: not timed.
            assertThat(RawHttp.status(RawHttp.exchange(shepherd.proxyPort(), "GET /echo HTTP/1.0\r\nHost: a\r\n\r\n")))
                    .isEqualTo(200);
            long start = System.nanoTime();
            assertThat(RawHttp.status(RawHttp.exchange(shepherd.proxyPort(), "GET /echo HTTP/1.0\r\nHost: a\r\n\r\n")))
                    .as("a client that sends its request at once").isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(900));
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.clientConnections() == 0);
            long connected = System.nanoTime();
            try (Socket silent = connect(shepherd)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.clientConnections() == 1);
                assertThat(Duration.ofNanos(System.nanoTime() - connected)).as("until the silent connection was taken in")
                        .isGreaterThanOrEqualTo(Duration.ofMillis(900));
            }
        }
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                transportArgument, "--fleet.proxy.event-loops=2", "--fleet.proxy.defer-accept=false")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            NettyTransport native_ = NettyTransport.select(transport);
            assertThat(proxy.listeners()).allSatisfy(listener ->
                    assertThat(listener.config().getOption(native_.deferAcceptOption())).isZero());
            try (Socket silent = connect(shepherd)) {
                await().atMost(Duration.ofMillis(800)).until(() -> proxy.clientConnections() == 1);
            }
        }
    }

    private static Socket connect(RunningShepherd shepherd) throws IOException {
        return new Socket(InetAddress.getByName("127.0.0.1"), shepherd.proxyPort());
    }

    private static long listenerLoops(RunningShepherd shepherd) {
        return shepherd.context().getBean(ProxyServer.class).listeners().stream().map(Channel::eventLoop).distinct().count();
    }

    private static boolean listensPerLoop(ProxyTransport transport) {
        return transport != ProxyTransport.NIO;
    }

    private static void assumeUsableHere(ProxyTransport transport) {
        assumeThat(transport != ProxyTransport.IO_URING || IoUring.isAvailable())
                .as("io_uring cannot be used here: " + IoUring.unavailabilityCause()).isTrue();
        assumeThat(transport != ProxyTransport.EPOLL || Epoll.isAvailable())
                .as("epoll cannot be used here: " + Epoll.unavailabilityCause()).isTrue();
    }

    /**
     * An address of no interface of this machine (TEST-NET-1) stops the start naming both properties and the system's
     * reason, where it used to end in a bare {@code BindException} (or Netty's "Unresolved address").
     */
    @ParameterizedTest
    @EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL", "NIO"})
    void anAddressNotOfThisMachineStopsTheStartNamingServerAddress(ProxyTransport transport) {
        assumeUsableHere(transport);
        List<ProcessHandle> before = ProcessHandle.current().children().toList();
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--server.address=192.0.2.1", "--management.server.port=0", "--spring.main.banner-mode=off",
                "--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-')).close())
                .satisfies(failure -> {
                    Throwable cause = failure;
                    while (cause != null && !(cause instanceof InvalidSetting)) {
                        cause = cause.getCause();
                    }
                    assertThat(cause).as("the start failure's cause: " + failure).isNotNull()
                            .hasMessageStartingWith("The proxy cannot listen on 192.0.2.1 port ")
                            .hasMessageContaining("(server.address, server.port): ")
                            .hasMessageContaining("Cannot assign requested address");
                });
        RunningShepherd.assertNoChildProcess(before);
    }

    /** A port given by number (not 0) is checked free first and then listened on by each loop. */
    @ParameterizedTest
    @EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL"})
    void aRequestedPortIsListenedOnByEveryLoop(ProxyTransport transport) throws Exception {
        assumeUsableHere(transport);
        int port = FreePorts.unassigned();
        List<ProcessHandle> before = ProcessHandle.current().children().toList();
        try (ConfigurableApplicationContext started = startOn(port,
                "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-'))) {
            assertThat(listeningSockets(port)).as("listening sockets").isEqualTo(2);
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                    RawHttp.status(RawHttp.exchange(port, "GET /echo HTTP/1.0\r\nHost: a\r\n\r\n")) == 200);
        }
        RunningShepherd.assertNoChildProcess(before);
    }

    /** A master with two event loops and one worker on {@code port}. */
    private static ConfigurableApplicationContext startOn(int port, String transportArgument) {
        return SpringApplication.run(ShepherdApplication.class, "--server.port=" + port, "--server.address=127.0.0.1",
                "--management.server.port=0", "--spring.main.banner-mode=off", "--fleet.workers=1",
                RunningShepherd.echoWorkerCommand(), transportArgument, "--fleet.proxy.event-loops=2");
    }

    /** Starts a master with two event loops on {@code port}, which must fail for the port being in use. */
    /**
     * The test JVM's live descendants but the orphan guard's {@code sleep}, which it starts again every 5 s: on a
     * busy host the check above outlasted one (all three transports, in a run beside two attacking helpers).
     */
    private static List<Long> descendantsButGuardSleepers() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .filter(process -> !process.parent().flatMap(parent -> parent.info().commandLine())
                        .orElse("").contains(OrphanGuard.NAME))
                .map(ProcessHandle::pid).toList();
    }

    private static void assertStartFailsWithPortInUse(int port, String transportArgument) {
        ConfigurableApplicationContext started;
        try {
            started = startOn(port, transportArgument);
        } catch (RuntimeException startFailure) {
            assertPortInUse(startFailure, port);
            return;
        }
        started.close();
        throw new AssertionError("a second master started on port " + port);
    }

    private static void assertPortInUse(Throwable startFailure, int port) {
        Throwable cause = startFailure;
        while (cause != null && !(cause instanceof PortInUseException)) {
            cause = cause.getCause();
        }
        assertThat(cause).as("the start failure's cause: " + startFailure).isInstanceOf(PortInUseException.class);
        assertThat(((PortInUseException) cause).getPort()).isEqualTo(port);
        assertThat(cause).hasMessage("Port " + port + " is already in use");
    }

    private static void assertServesAConnectionPerRequest(RunningShepherd shepherd) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(16);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                answers.add(clients.submit(() -> RawHttp.exchange(shepherd.proxyPort(), "GET /echo HTTP/1.0\r\nHost: a\r\n\r\n")));
            }
            for (Future<String> answer : answers) {
                assertThat(RawHttp.status(answer.get(30, TimeUnit.SECONDS))).isEqualTo(200);
            }
        } finally {
            clients.shutdownNow();
        }
    }

    /** Sockets listening on {@code port}, IPv4 and IPv6, from the kernel's tables ({@code /proc/net/tcp}, state 0A). */
    private static long listeningSockets(int port) throws IOException {
        String localPort = String.format(":%04X", port);
        long count = 0;
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path path = Path.of(table);
            assumeThat(path).as("the kernel's socket tables (Linux)").exists();
            count += Files.readAllLines(path).stream().skip(1).map(line -> line.trim().split("\\s+"))
                    .filter(fields -> fields[1].endsWith(localPort) && fields[3].equals("0A")).count();
        }
        return count;
    }

    private static List<String> acceptorThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.startsWith("proxy-accept")).toList();
    }

    /** Where no native transport loads (another OS, a seccomp profile, {@code -Dio.netty.transport.noNative}). */
    @Test
    void withoutNativeTransportsAutoFallsBackToNioAndANativeOneAskedForByNameStopsStartup() throws Exception {
        List<String> noNative = List.of("-Dio.netty.transport.noNative=true");
        try (MasterProcess master = MasterProcess.startReady(noNative, 1, "--fleet.demo.work=1000")) {
            assertThat(master.readyWorkerPids()).hasSize(1);
            assertThat(master.output()).contains("event loop(s) on nio");
        }

        String output = MasterProcess.runUntilExit(noNative, "--fleet.proxy.transport=io-uring");

        assertThat(output).contains("fleet.proxy.transport is io-uring, but io_uring cannot be used here",
                "explicit disabled with -Dio.netty.transport.noNative=true", "set fleet.proxy.transport to auto or nio");
        RunningShepherd.assertNoChildProcess(List.of());
    }
}
