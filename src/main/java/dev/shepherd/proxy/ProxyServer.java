package dev.shepherd.proxy;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.shepherd.InvalidSetting;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.fleet.WorkerFleetService;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.unix.Errors;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.internal.PlatformDependent;
import lombok.extern.slf4j.Slf4j;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.LivenessState;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.web.server.PortInUseException;
import org.springframework.boot.web.server.Ssl;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * The data plane: a Netty HTTP/1.1 reverse proxy on {@code server.port} on io_uring, epoll or NIO
 * ({@link NettyTransport}), each event loop with its own pool of keep-alive connections to the workers. Started
 * after the fleet and stopped before it: on stop it closes its port, lets the requests in flight finish (up to
 * {@code fleet.worker.drain-timeout}) and then closes every connection.
 */
@Slf4j
public class ProxyServer implements SmartLifecycle, SmartInitializingSingleton {

    /**
     * Read by Netty once, when io_uring is first used. Netty 4.2's default, a multishot POLLIN, is edge-triggered: a
     * worker's reset that arrives together with its last bytes wakes nothing more, so it goes unseen, and a response
     * framed by the close would hang until the body idle timeout instead of being cut at once (epoll and NIO report
     * it). Single-shot polls see it; measured side by side, no more CPU per request. Left alone when set.
     */
    static final String IO_URING_MULTISHOT_POLL = "io.netty.iouring.pollAddMultishotEnabled";

    /**
     * Read by Netty once, like {@link #IO_URING_MULTISHOT_POLL}. A multishot accept that fails (out of file
     * descriptors, {@code EMFILE}) is re-armed by Netty 4.2 at once, whether or not the listener still reads, and
     * fails again at once while connections wait in the backlog: an attacking helper saw both event loops spin at
     * ~95% CPU, 8.7 million failed accepts in a minute (2026-12-03). A single-shot accept honours the acceptor's
     * one-second pause after a failure, as epoll and NIO do (nginx pauses its accepts the same way). Left alone when
     * set.
     */
    static final String IO_URING_MULTISHOT_ACCEPT = "io.netty.iouring.acceptMultiShotEnabled";

    static {
        for (String multishot : new String[] {IO_URING_MULTISHOT_POLL, IO_URING_MULTISHOT_ACCEPT}) {
            if (System.getProperty(multishot) == null) {
                System.setProperty(multishot, "false");
            }
        }
    }

    /** {@code TCP_DEFER_ACCEPT} with {@code fleet.proxy.defer-accept}, in seconds. */
    static final int DEFER_ACCEPT_SECONDS = 1;

    private final FleetProperties properties;
    private static final String REFUSED_DESCRIPTION = "Client connections closed unread because they came past a "
            + "limit: fleet.proxy.max-connections and its slack, or fleet.proxy.max-connections-per-client";
    /** The admin port's {@code server.tomcat.max-connections}: descriptors the proxy leaves it. */
    private final int adminConnections;
    private final ApplicationEventPublisher events;
    /** Set once the proxy is stopping (or a start failed): its event loops end on purpose from then on. */
    private volatile boolean stopping;

    private final WorkerFleetService fleet;
    private final String address;
    private final int requestedPort;
    private final ProxyTls tls;
    /** Where bodies read first are kept past the retry buffer limit; null when {@code request-buffering} is off. */
    private final BodySpool spool;
    private final BodySpool responseSpool;
    private final ProxyMetrics metrics;
    private final MeterRegistry registry;
    private final Clock clock;
    private NettyTransport transport;
    private EventLoopGroup acceptor;
    private EventLoopGroup loops;
    private final ChannelGroup clients = new DefaultChannelGroup("proxy-clients", GlobalEventExecutor.INSTANCE);
    private volatile ProxyContext context;
    private volatile ConnectionLimit connectionLimit;
    private volatile ClientConnectionLimit clientConnectionLimit;
    /** The listening sockets: one per event loop on io_uring and epoll (unless reuse-port is false), else one. */
    private final List<Channel> listeners = new ArrayList<>();
    private final Consumer<FleetSnapshot> poolCleaner = this::dropIdleConnectionsOfRetiredWorkers;
    private volatile int port = -1;

    /**
     * @param ssl TLS for the port ({@code server.ssl.*}, {@link ProxyTls}); null: plain HTTP
     * @param bundles Spring Boot's SSL bundles, for {@code server.ssl.bundle}; may be null
     * @param adminConnections how many connections the admin port may hold ({@code server.tomcat.max-connections}),
     *        counted before the proxy's in the open-file limit
     * @param events where an event loop that ends while the proxy runs publishes {@link LivenessState#BROKEN}
     * @throws IllegalStateException naming {@code server.ssl.*} when {@code ssl} gives no usable TLS
     */
    ProxyServer(FleetProperties properties, WorkerFleetService fleet, String address, int port, Ssl ssl,
                SslBundles bundles, int adminConnections, ApplicationEventPublisher events, MeterRegistry registry,
                Clock clock) {
        this.properties = properties;
        this.events = events;
        this.adminConnections = adminConnections;
        this.fleet = fleet;
        this.address = address;
        this.requestedPort = port;
        this.metrics = new ProxyMetrics(registry);
        this.registry = registry;
        this.clock = clock;
        this.transport = NettyTransport.select(properties.proxy().transport());
        this.tls = ProxyTls.of(ssl, bundles, properties.proxy().clientHeaderTimeout().toMillis(),
                transport.quickAckOption());
        if (tls != null) {
            metrics.tlsServed();
        }
        this.spool = properties.proxy().requestBuffering() ? BodySpool.in(properties.proxy().clientBodyTempPath(),
                properties.proxy().clientBodyTempMaxSize().toBytes()) : null;
        this.responseSpool = properties.proxy().responseBuffering() ? BodySpool.forResponses(
                properties.proxy().responseTempPath(), properties.proxy().responseTempMaxSize().toBytes(),
                properties.proxy().responseTempFileMaxSize().toBytes()) : null;
        metrics.spools(spool, responseSpool);
        Gauge.builder("shepherd.proxy.queue", this, ProxyServer::waiting)
                .description("Requests waiting for a worker now: none is READY, every READY worker is at "
                        + "fleet.worker.max-concurrency, or a sticky session's worker is (HAProxy's qcur)")
                .register(registry);
        Gauge.builder("shepherd.proxy.connections", this, ProxyServer::connections)
                .description("Client connections open now; fleet.proxy.max-connections bounds them (HAProxy's scur)")
                .register(registry);
        FunctionCounter.builder("shepherd.proxy.connections.refused", this, ProxyServer::refusedConnections)
                .description(REFUSED_DESCRIPTION)
                .tag("limit", "max-connections")
                .register(registry);
        FunctionCounter.builder("shepherd.proxy.connections.refused", this, ProxyServer::refusedPerClient)
                .description(REFUSED_DESCRIPTION)
                .tag("limit", "max-connections-per-client")
                .register(registry);
        FunctionCounter.builder("shepherd.proxy.connections.reclaimed", this, ProxyServer::reclaimedConnections)
                .description("Client connections idle or still reading a request head, closed oldest first, or "
                        + "whose request body being read came slowest, refused with 503, to let a new one in at "
                        + "fleet.proxy.max-connections (nginx's reuse of connections)")
                .register(registry);
        FunctionCounter.builder("shepherd.proxy.accept.failures", this, ProxyServer::acceptFailures)
                .description("Connections the listening sockets failed to accept, out of file descriptors say; "
                        + "each failure pauses its socket for a second")
                .register(registry);
    }

    /** Bytes of request bodies held now by requests with no worker connection yet; 0 when not running. */
    long waitingBodyBytes() {
        ProxyContext running = context;
        return running == null ? 0 : running.waitingBodyBytes();
    }

    /** Where request bodies read first are kept past the retry buffer limit; null when bodies are not read first. */
    BodySpool spool() {
        return spool;
    }

    /** How many requests wait in the proxy's queue for a worker now; 0 when the proxy is not running. */
    public int waiting() {
        ProxyContext running = context;
        return running == null ? 0 : running.router().waiting();
    }

    /** The port the proxy listens on (useful when {@code server.port} was 0); -1 before it started. */
    public int port() {
        return port;
    }

    /** The I/O transport the proxy runs on: io_uring, epoll or nio. */
    public String transport() {
        return transport.name();
    }

    @Override
    public void start() {
        FleetProperties.Proxy config = properties.proxy();
        ExplodedClasses.loadPackagesOf(ProxyServer.class, WorkerFleetService.class);
        int loopCount = openEventLoops(config);
        try {
            ConnectionLimit limit = new ConnectionLimit(maxConnections(config, adminConnections), System::nanoTime);
            connectionLimit = limit;
            context = new ProxyContext(config, new Router(fleet, config.queueLimit(), config.balancer()), new RetryBudget(
                    config.retry().budgetPercent(), config.retry().minPerSecond(), System::nanoTime), metrics,
                    upstreamBootstrap(config), stickySessions(config), spool, responseSpool,
                    () -> limit.max() - limit.open(), tls != null,
                    config.accessLog().enabled() ? new AccessLog(registry) : null);
            fleet.onSnapshot(poolCleaner);
            ProxyContext started = context;
            for (EventExecutor loop : loops) {
                // Queued before any connection's registration on the loop, so it runs first.
                loop.execute(() -> started.startSweeping(loop));
            }
            clientConnectionLimit = new ClientConnectionLimit(config.maxConnectionsPerClient(),
                    context.trustedProxies(), System::nanoTime);
            listen(config, loopCount);
            // After any failed start on another transport, whose loops were ended on purpose.
            stopping = false;
            watchEventLoops();
        } catch (RuntimeException ex) {
            closeAfterFailedStart();
            throw ex;
        }
        port = ((InetSocketAddress) listeners.get(0).localAddress()).getPort();
        log.info("Proxy listening on {}:{}{} with {} event loop(s) on {} ({}; {}; at most {} client connections{})",
                address, port, tls != null ? " (TLS on " + ProxyTls.provider() + ")" : "", loopCount,
                transport.name(), listeners.size() > 1 ? "a listening socket per loop, SO_REUSEPORT"
                        : acceptor == loops ? "one listening socket" : "one listening socket, an acceptor thread",
                defersAccepts() ? "accepts deferred until a client's first bytes" : "accepts not deferred",
                connectionLimit.max(), config.maxConnectionsPerClient() == 0 ? ""
                        : ", " + config.maxConnectionsPerClient() + " per client outside fleet.proxy.trusted-proxies");
        log.info("Balancing: {}", balancing(config, properties.worker().maxConcurrency()));
        log.info("Forwarded headers: {}", context.trustedProxies().describe());
        if (transport.socketChannel() == IoUringSocketChannel.class && IoUring.isPollAddMultishotEnabled()) {
            log.warn("io_uring polls are multishot here ({} is true, or io_uring was used before the proxy started): "
                    + "a worker's reset that comes with its last bytes is seen only at fleet.proxy.body-idle-timeout",
                    IO_URING_MULTISHOT_POLL);
        }
    }

    /**
     * {@code fleet.proxy.max-connections}, lowered to what the open-file limit and the direct memory hold
     * ({@link ConnectionLimit#fit}): logged at INFO when the default is lowered, at WARN when a value set by hand is.
     */
    /** Below this many client connections, a lowered default {@code max-connections} is warned about. */
    static final int FEW_CONNECTIONS = 256;

    private static int maxConnections(FleetProperties.Proxy config, int adminConnections) {
        long openFileLimit = ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
                ? unix.getMaxFileDescriptorCount() : -1;
        long directMemory = PlatformDependent.estimateMaxDirectMemory();
        int descriptors = ConnectionLimit.descriptorsPerConnection(config.requestBuffering(), config.responseBuffering());
        long perConnection = ConnectionLimit.directBytesPerConnection(config.retry().bufferLimit().toBytes());
        int max = ConnectionLimit.fit(config.maxConnections(), openFileLimit, directMemory, descriptors, adminConnections,
                perConnection);
        if (max < config.maxConnections()) {
            // The default is lowered on most machines, which is no news; a value set by hand is.
            String message = "fleet.proxy.max-connections {} lowered to {}, what the master can hold: {} open files "
                    + "(ulimit -n, less the admin port's {}, server.tomcat.max-connections; a client connection can take "
                    + "{}: its own, a worker's{}{}) and {} MB of direct "
                    + "memory (-XX:MaxDirectMemorySize; {} KB a connection); raise whichever is short to allow more";
            Object[] values = {config.maxConnections(), max, openFileLimit, adminConnections, descriptors,
                    config.requestBuffering() ? ", a request body's temporary file" : "",
                    config.responseBuffering() ? ", a response's temporary file" : "", directMemory >> 20,
                    perConnection >> 10};
            // Lowered to a few (ulimit -n 256 left 1, said at INFO, and one slow client held the proxy: found by an
            // attacking helper), it is news all the same.
            if (config.maxConnections() == FleetProperties.Proxy.DEFAULT_MAX_CONNECTIONS && max >= FEW_CONNECTIONS) {
                log.info(message, values);
            } else {
                log.warn(message, values);
            }
        }
        return max;
    }

    private StickySessions stickySessions(FleetProperties.Proxy config) {
        if (config.sticky().cookie() == null) {
            return null;
        }
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        StickySessions sessions = new StickySessions(config.sticky().cookie(), properties.maxWorkers(), key, tls != null);
        metrics.stickyCookie(sessions);
        return sessions;
    }

    /**
     * Starts the event loops, which is where a native transport sets up its rings; with {@code auto}, a transport
     * the kernel offered but whose rings cannot be set up (a memlock limit on an old kernel, say) gives way to the
     * next one. Returns the number of loops.
     *
     * <p>Each loop accepts its own connections where it can: with one loop, and with several on io_uring and epoll,
     * where each listens on the port itself ({@link #listen}) unless {@code fleet.proxy.reuse-port} is false. Else
     * (NIO, or that property false) a thread of its own accepts connections and hands each to the next loop: a
     * wake-up of the acceptor and a hand-off to the loop for every connection (with a new connection per request the
     * acceptor used 170 µs of CPU per request at ~190 req/s, and a listening socket per loop took about a quarter off
     * the master's CPU per request, bench/RESULTS.md).
     */
    private int openEventLoops(FleetProperties.Proxy config) {
        while (true) {
            int loopCount = config.eventLoopCount(transport.defaultEventLoops(Runtime.getRuntime().availableProcessors()));
            try {
                loops = new MultiThreadIoEventLoopGroup(loopCount, new DefaultThreadFactory("proxy", true),
                        transport.ioHandler().get());
                boolean listenerPerLoop = config.reusePort() && transport.reusePortOption() != null;
                acceptor = loopCount == 1 || listenerPerLoop ? loops : new MultiThreadIoEventLoopGroup(1,
                        new DefaultThreadFactory("proxy-accept", true), transport.ioHandler().get());
                return loopCount;
            } catch (RuntimeException ex) {
                closeAfterFailedStart();
                NettyTransport next = transport.fallback(config.transport());
                if (next == null) {
                    throw ex;
                }
                log.warn("The proxy's event loops could not start on {} ({}); trying {}", transport.name(), ex, next.name());
                transport = next;
            }
        }
    }

    /**
     * Connections to the workers; each is registered on the event loop of the client it serves. Half-closure is
     * allowed so that a worker's FIN reaches {@link UpstreamDecoder} as an event of its own, told apart from a reset.
     * A write that fails shuts the connection's output only ({@code AUTO_CLOSE} off), so that what the worker sent
     * before it stopped reading is still read: a worker that answers an upload early ({@code 413}, {@code 401}) and
     * closes draws a reset from the body that follows, and closing at that failed write lost its answer (the client
     * got a {@code 502}). Reads that fail still close it ({@link UpstreamHandler#exceptionCaught}).
     */
    private Bootstrap upstreamBootstrap(FleetProperties.Proxy config) {
        return new Bootstrap().channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_CLOSE, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        UpstreamDecoder decoder = new UpstreamDecoder();
                        channel.pipeline().addLast(new HttpRequestEncoder(), decoder,
                                new UpstreamHandler(decoder, channel, metrics::unasked, transport.quickAckOption()));
                    }
                });
    }

    /**
     * Opens the proxy's port. With one event loop, or a thread that accepts for all of them (NIO, or
     * {@code fleet.proxy.reuse-port} false), one listening socket. Else, with several loops on io_uring or epoll, one
     * socket per loop, each registered on its loop and bound with {@code SO_REUSEPORT}, so that Linux spreads new
     * connections over the loops by their addresses and a loop takes its connections in with its own I/O, with no
     * other thread woken (nginx's {@code reuseport}). A requested port is first bound once without that option: the
     * port in use by anything else, another Shepherd included, then fails the start as it always did instead of
     * sharing the port with it (two that bind it at the same moment can still both pass, and a process of the same
     * user can join later: see {@code fleet.proxy.reuse-port}).
     *
     * @throws PortInUseException when the port is in use (Spring Boot's failure analyzer names it)
     */
    private void listen(FleetProperties.Proxy config, int loopCount) {
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength((int) config.maxInitialLineLength().toBytes())
                .setMaxHeaderSize((int) config.maxHeaderSize().toBytes())
                .setMaxChunkSize(64 * 1024)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true)
                .setAllowDuplicateContentLengths(false)
                .setHeadersFactory(FieldCountLimit.headers(config.maxHeaderCount()))
                .setTrailersFactory(FieldCountLimit.trailers(config.maxHeaderCount()));
        ChannelInitializer<SocketChannel> connection = new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel channel) {
                switch (clientConnectionLimit.admit(channel.remoteAddress(), channel.closeFuture())) {
                    case ADMIT -> serve(channel);
                    case REFUSE -> channel.close();
                    case RECHECK -> {
                        channel.config().setAutoRead(false);
                        channel.eventLoop().schedule(() -> {
                            boolean within = clientConnectionLimit.recheck(channel.remoteAddress());
                            if (within && channel.isActive() && serve(channel)) {
                                // Its handlers came after the channel became active: they start (timers) now.
                                channel.pipeline().fireChannelActive();
                                if (!ConnectionLimit.waiting(channel)) {
                                    channel.config().setAutoRead(true);
                                }
                            } else {
                                channel.close();
                            }
                        }, ClientConnectionLimit.RECHECK_NANOS, TimeUnit.NANOSECONDS);
                    }
                }
            }

            /** Within its client's limit: the connection gets its pipeline, unless past max-connections (false). */
            private boolean serve(SocketChannel channel) {
                if (!connectionLimit.admit(channel)) {
                    channel.close();
                    return false;
                }
                clients.add(channel);
                if (tls != null) {
                    channel.pipeline().addLast(CloseGuard.SHUT_INPUT, tls.newHandler(metrics::tlsHandshakeFailed),
                            ProxyTls.FailedRecordCheck.INSTANCE);
                }
                channel.pipeline().addLast(CloseGuard.INSTANCE);
                ClientHandler client = new ClientHandler(context, connectionLimit.reclaimable(channel.eventLoop()));
                channel.pipeline().addLast(client.timeouts(),
                        new RequestDecoder(decoder, context.unfinishedHeads(), client::busy), client);
                return true;
            }
        };
        if (acceptor != loops || loopCount == 1) {
            listeners.add(bind(new ServerBootstrap().group(acceptor, loops), connection, requestedPort));
            return;
        }
        int listenPort = requestedPort == 0 ? 0 : ensureFree(requestedPort);
        for (EventExecutor executor : loops) {
            EventLoop loop = (EventLoop) executor;
            Channel listener = bind(new ServerBootstrap().group(loop, loop).option(transport.reusePortOption(), true),
                    connection, listenPort);
            listeners.add(listener);
            listenPort = ((InetSocketAddress) listener.localAddress()).getPort();
        }
    }

    /**
     * Binds one listening socket. Netty sets {@code TCP_NODELAY} on every connection of a native or NIO channel by
     * default, so it is not set again here (a system call per connection). With {@code fleet.proxy.defer-accept} on
     * a native transport, {@code TCP_DEFER_ACCEPT} of one second, nginx's value for {@code deferred}: the kernel
     * converts it to one retransmission of its SYN-ACK, after which a silent connection is handed over too.
     */
    private Channel bind(ServerBootstrap server, ChannelInitializer<SocketChannel> connection, int listenPort) {
        if (defersAccepts()) {
            server.option(transport.deferAcceptOption(), DEFER_ACCEPT_SECONDS);
        }
        server.channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                // A client's FIN is an event of its own, so that a tunnel can pass a half-close on.
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(connection);
        try {
            Channel listener = server.bind(new InetSocketAddress(address, listenPort)).syncUninterruptibly().channel();
            // After Netty's acceptor, which pauses the socket for a second on a failed accept and passes it on.
            listener.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    connectionLimit.acceptFailed(cause);
                }
            });
            connectionLimit.listener(listener);
            return listener;
        } catch (Exception ex) { // Netty rethrows the native transports' bind failure, an IOException, unchecked
            throw portInUse(listenPort, ex);
        }
    }

    /**
     * The proxy's port is checked free once every bean is made, before the fleet starts its workers (phase
     * {@link WorkerFleetService#PHASE}, before this one): a port in use stopped the start only after the workers had
     * run, a migration or an instance-0 cron job for nothing (found by a new user). Checked again when it binds.
     */
    @Override
    public void afterSingletonsInstantiated() {
        if (requestedPort != 0) {
            ensureFree(requestedPort);
        }
    }

    /**
     * Binds {@code listenPort} once without {@code SO_REUSEPORT} and lets it go: in use, it cannot be bound so. A
     * socket that is bound but does not listen: no client can connect to it in the meantime.
     */
    private int ensureFree(int listenPort) {
        try (Socket probe = new Socket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(address, listenPort));
        } catch (IOException ex) {
            throw portInUse(listenPort, ex);
        }
        return listenPort;
    }

    /**
     * A bind that failed because the port is taken ({@code EADDRINUSE}: error -98 of the native transports, which
     * run on Linux only; NIO's {@code BindException} says "Address already in use", as Spring Boot's own check
     * expects) as Spring Boot's exception for it; any other failure (an address not on this host, a port below 1024
     * without the right) as a bad setting naming both properties and the system's reason.
     */
    private RuntimeException portInUse(int listenPort, Exception ex) {
        if (ex instanceof Errors.NativeIoException nativeFailure && nativeFailure.expectedErr() == -98
                || ex.getMessage() != null && ex.getMessage().contains("Address already in use")) {
            return new PortInUseException(listenPort, ex);
        }
        InvalidSetting setting = new InvalidSetting("server.address and server.port",
                "The proxy cannot listen on " + address + " port " + listenPort + " (server.address, server.port): "
                        + ex.getMessage());
        setting.initCause(ex);
        return setting;
    }

    /**
     * The balancing settings in effect, in their written form, for the startup log: "least-request,
     * max-concurrency 2, request bodies read first (64 KB in memory, the rest on disk, at most 10 MB), sticky cookie
     * SRV".
     */
    static String balancing(FleetProperties.Proxy config, int maxConcurrency) {
        StringBuilder line = new StringBuilder(config.balancer().name().toLowerCase(java.util.Locale.ROOT)
                .replace('_', '-'));
        line.append(maxConcurrency > 0 ? ", max-concurrency " + maxConcurrency : ", no max-concurrency");
        long maxBody = config.clientMaxBodySize().toBytes();
        line.append(config.requestBuffering() ? ", request bodies read first (" + FailureAnswers.readable(
                config.retry().bufferLimit().toBytes()) + " in memory, the rest on disk" : ", request bodies streamed (");
        line.append(config.requestBuffering() ? ", " : "").append(maxBody == 0 ? "no size limit)"
                : "at most " + FailureAnswers.readable(maxBody) + ")");
        line.append(", queue-limit ").append(config.queueLimit()).append(", queue-timeout ")
                .append(config.queueTimeout().toMillis()).append(" ms");
        if (config.sticky().cookie() != null) {
            line.append(", sticky cookie ").append(config.sticky().cookie());
        }
        if (config.sticky().appCookie() != null) {
            line.append(", sticky app-cookie ").append(config.sticky().appCookie());
        }
        if (config.sticky().cookie() == null && config.sticky().appCookie() == null) {
            line.append(", no sticky sessions");
        }
        return line.toString();
    }

    /** Whether the listening sockets get {@code TCP_DEFER_ACCEPT}: asked for, on a transport that has it. */
    private boolean defersAccepts() {
        return properties.proxy().deferAccept() && transport.deferAcceptOption() != null;
    }

    /**
     * An event loop that ends while the proxy runs (an {@code Error} out of the transport, as an {@code
     * OutOfDirectMemoryError} when a read buffer is allocated, ends its thread for good; Netty logs it as "Unexpected
     * exception from an event executor") leaves its connections and its listening socket unserved while the rest of
     * the master looks well: liveness goes {@link LivenessState#BROKEN}, so that {@code /actuator/health/liveness}
     * answers 503 and Kubernetes, or whatever watches it, restarts the master.
     */
    private void watchEventLoops() {
        Set<EventExecutor> all = Collections.newSetFromMap(new IdentityHashMap<>());
        loops.forEach(all::add);
        acceptor.forEach(all::add);
        for (EventExecutor loop : all) {
            loop.terminationFuture().addListener(ended -> {
                if (!stopping) {
                    log.error("A proxy event loop ({}) ended while the proxy runs: its connections and its listening "
                            + "socket are no longer served. Liveness is now BROKEN (/actuator/health/liveness): "
                            + "restart the master", loop);
                    AvailabilityChangeEvent.publish(events, this, LivenessState.BROKEN);
                }
            });
        }
    }

    /** Gives back what a start that failed half-way had taken: listeners, timers, threads, rings. */
    private void closeAfterFailedStart() {
        stopping = true;
        fleet.removeSnapshotListener(poolCleaner);
        // A listener bound before a later one failed stops taking connections now, not when its loop ends.
        listeners.stream().map(Channel::close).toList().forEach(ChannelFuture::awaitUninterruptibly);
        if (context != null) {
            context.router().close();
            closeAccessLog();
            context = null;
        }
        for (EventLoopGroup group : new EventLoopGroup[] {loops, acceptor}) {
            if (group != null && !group.isShuttingDown()) {
                group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
            }
        }
        loops = null;
        acceptor = null;
        listeners.clear();
    }

    private void dropIdleConnectionsOfRetiredWorkers(FleetSnapshot snapshot) {
        metrics.tunnelsPerWorker(snapshot);
        Set<Endpoint> ready = Collections.newSetFromMap(new IdentityHashMap<>());
        Collections.addAll(ready, snapshot.ready());
        for (EventExecutor loop : loops) {
            loop.execute(() -> context.pool().retainOnly(ready));
        }
    }

    @Override
    public void stop() {
        if (listeners.isEmpty()) {
            return;
        }
        stopping = true;
        // Closed together: the kernel resets what waits in a closed listener's backlog, and while one of several
        // closes the others would go on taking connections.
        listeners.stream().map(Channel::close).toList().forEach(ChannelFuture::syncUninterruptibly);
        context.startDraining();
        fleet.removeSnapshotListener(poolCleaner);
        Duration drain = properties.worker().drainTimeout();
        Instant deadline = clock.instant().plus(drain);
        Duration tunnelWindow = properties.proxy().tunnel().drainTimeout().compareTo(drain) < 0
                ? properties.proxy().tunnel().drainTimeout() : drain;
        closeTunnels(tunnelWindow);
        Instant tunnelsBy = clock.instant().plus(tunnelWindow);
        // Tunnels still open at the window's end (a timer late on a busy loop) are told to go away at once, and get
        // TUNNEL_CLOSE_WAIT for their close frames, even past the drain timeout: a bare close is what the window avoids.
        Instant tunnelsClosedBy = tunnelsBy.plus(Endpoint.TUNNEL_CLOSE_WAIT);
        if (inFlight() > 0 || fleet.snapshot().tunnels() > 0) {
            // Said at once: the wait may last the whole drain timeout, and an operator who pressed Ctrl-C should
            // know what it waits for.
            log.info("Proxy stopped accepting connections; waiting up to {} s for {} requests in flight "
                    + "(fleet.worker.drain-timeout) and {} s for {} tunnels (fleet.proxy.tunnel.drain-timeout)",
                    drain.toSeconds(), inFlight(), tunnelWindow.toSeconds(), fleet.snapshot().tunnels());
        }
        boolean toldAtOnce = false;
        while (inFlight() > 0 && clock.instant().isBefore(deadline)
                || fleet.snapshot().tunnels() > 0 && clock.instant().isBefore(tunnelsClosedBy)) {
            if (!toldAtOnce && !clock.instant().isBefore(tunnelsBy)) {
                closeTunnels(Duration.ZERO);
                toldAtOnce = true;
            }
            // The proxy owns no fleet state to wait on: a short park until the last responses are written.
            LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
        }
        log.info("Proxy stopped; {} requests still in flight and {} tunnels open at close", inFlight(),
                fleet.snapshot().tunnels());
        context.router().close();
        context.startCuttingClients();
        clients.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        if (acceptor != loops) {
            acceptor.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        // Last, once the loops have logged their last requests.
        closeAccessLog();
        listeners.clear();
    }

    private void closeAccessLog() {
        if (context.accessLog() != null) {
            context.accessLog().close();
        }
    }

    /** Asks every tunnel to go away within {@code spread}. */
    private void closeTunnels(Duration spread) {
        for (WorkerSnapshot worker : fleet.snapshot().workers()) {
            if (worker.endpoint() != null) {
                worker.endpoint().closeTunnels(spread);
            }
        }
    }

    /** Requests begun and not over: served, waiting for a worker, or between two attempts. */
    long inFlight() {
        return context.openExchanges();
    }

    /** The client connections the proxy has taken in and not yet closed, for tests. */
    int clientConnections() {
        return clients.size();
    }

    /** Client connections closed unread past {@code fleet.proxy.max-connections} since the start. */
    private double refusedConnections() {
        ConnectionLimit limit = connectionLimit;
        return limit == null ? 0 : limit.refused();
    }

    /** Idle or unfinished client connections closed to let new ones in at the limit, since the start. */
    private double reclaimedConnections() {
        ConnectionLimit limit = connectionLimit;
        return limit == null ? 0 : limit.reclaimed();
    }

    /** Failed accepts since the start. */
    private double acceptFailures() {
        ConnectionLimit limit = connectionLimit;
        return limit == null ? 0 : limit.acceptFailures();
    }

    /** Client connections closed unread past {@code fleet.proxy.max-connections-per-client} since the start. */
    private double refusedPerClient() {
        ClientConnectionLimit limit = clientConnectionLimit;
        return limit == null ? 0 : limit.refused();
    }

    /** Client connections open now, {@code fleet.proxy.max-connections} at most; 0 when not running. */
    /** Where responses are kept for clients that read slower than their workers send; null when they are not. */
    BodySpool responseSpool() {
        return responseSpool;
    }

    public int connections() {
        ConnectionLimit limit = connectionLimit;
        return limit == null ? 0 : limit.open();
    }

    /** The event loops that serve the connections, for tests. */
    EventLoopGroup eventLoops() {
        return loops;
    }

    /** The listening sockets, for tests: one per event loop, each registered on its own loop, or one. */
    List<Channel> listeners() {
        return List.copyOf(listeners);
    }

    @Override
    public boolean isRunning() {
        return !listeners.isEmpty();
    }

    @Override
    public int getPhase() {
        return WorkerFleetService.PHASE + 100;
    }
}
