package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetProperties;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import lombok.extern.slf4j.Slf4j;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;
import java.util.stream.Collectors;

/**
 * What every exchange of one proxy server shares: settings, trusted proxies, router, retry budget, metrics and the
 * per-loop pools.
 */
@Slf4j
final class ProxyContext {

    private final FleetProperties.Proxy properties;
    private final TrustedProxies trustedProxies;
    private final Router router;
    private final StickySessions sticky;
    private final AppCookieSessions appCookies;
    private final RetryBudget budget;
    private final LongAdder openExchanges = new LongAdder();
    /** Bytes of request bodies held now by requests with no worker connection yet ({@link #holdWaitingBody}). */
    private final AtomicLong waitingBodies = new AtomicLong();
    private final UnfinishedHeads unfinishedHeads = new UnfinishedHeads(UnfinishedHeads.LIMIT);
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final Bootstrap upstreamBootstrap;
    private final long bufferLimit;
    /** Each event loop's timer for its deadlines and idle connections, which tell it what they need. */
    private final FastThreadLocal<Sweeper> sweepers = new FastThreadLocal<>() {
        @Override
        protected Sweeper initialValue() {
            return new Sweeper(() -> sweep(System.nanoTime()), System::nanoTime);
        }
    };
    private final FastThreadLocal<UpstreamPool> pools = new FastThreadLocal<>() {
        @Override
        protected UpstreamPool initialValue() {
            return new UpstreamPool(upstreamIdleTimeoutNanos, upstreamReuseDelayNanos, idleBudget, System::nanoTime,
                    sweepers.get()::ensureBy);
        }
    };
    /**
     * Each event loop's last forwarded-header rules: the next connection from the same peer to the same port (a load
     * balancer in front, a benchmark) takes them as they are, without an address match and two strings per
     * connection.
     */
    private final FastThreadLocal<ForwardedHeaders> lastForwarded = new FastThreadLocal<>();
    private final FastThreadLocal<ResponseDeadlines> deadlines = newDeadlines();
    private final FastThreadLocal<ResponseDeadlines> bodyDeadlines = newDeadlines();
    private final FastThreadLocal<ResponseDeadlines> tunnelDeadlines = newDeadlines();
    private final Set<String> upgradeProtocols;
    private final RetryPolicy retryPolicy;
    private final long tunnelIdleTimeoutNanos;
    private final long tunnelHalfClosedTimeoutNanos;
    private final long responseTimeoutNanos;
    private final long bodyIdleTimeoutNanos;
    private final long upstreamIdleTimeoutNanos;
    private final long upstreamReuseDelayNanos;
    private final boolean readsBodiesFirst;
    private final BodySpool spool;
    private final BodySpool responseSpool;
    private final long maxBodySize;
    private final UpstreamPool.IdleBudget idleBudget;
    private final boolean secure;
    private volatile boolean draining;
    private volatile boolean cuttingClients;

    /**
     * @param sticky sticky sessions; null when {@code fleet.proxy.sticky.cookie} is not set
     * @param spool where request bodies are kept past the retry buffer limit while they are read whole before a
     *              worker is picked for them, so that a slow upload does not hold a worker's thread or slot
     *              ({@link Exchange}); null: bodies are not read first but streamed
     * @param responseSpool where the parts of responses that clients read slower than their workers send them are
     *                      kept, so that the worker is free once it has sent its response ({@link SpooledResponse});
     *                      null: the worker waits for the client
     * @param upstreamsLeft how many worker connections {@code max-connections} leaves now (it less the client
     *                      connections open), within which {@code upstream-reuse-delay} keeps its idle connections
     * @param secure whether client connections are TLS ({@link ProxyTls}): workers are told {@code https}
     * @param accessLog where each request is logged; null: nowhere ({@code fleet.proxy.access-log.enabled} off)
     */
    ProxyContext(FleetProperties.Proxy properties, Router router, RetryBudget budget, ProxyMetrics metrics,
                 Bootstrap upstreamBootstrap, StickySessions sticky, BodySpool spool, BodySpool responseSpool,
                 IntSupplier upstreamsLeft, boolean secure, AccessLog accessLog) {
        this.responseSpool = responseSpool;
        this.secure = secure;
        this.accessLog = accessLog;
        this.idleBudget = new UpstreamPool.IdleBudget(upstreamsLeft);
        this.properties = properties;
        this.readsBodiesFirst = spool != null;
        this.spool = spool;
        long max = properties.clientMaxBodySize().toBytes();
        this.maxBodySize = max == 0 ? Long.MAX_VALUE : max;
        this.sticky = sticky;
        String appCookie = properties.sticky().appCookie();
        this.appCookies = appCookie == null ? null
                : new AppCookieSessions(appCookie, appCookieEntries(properties.sticky().appCookieMaxEntries()),
                metrics.appCookieForgotten()::increment);
        this.trustedProxies = new TrustedProxies(properties.trustedProxies());
        this.router = router;
        this.budget = budget;
        this.metrics = metrics;
        this.upstreamBootstrap = upstreamBootstrap;
        this.bufferLimit = properties.retry().bufferLimit().toBytes();
        this.responseTimeoutNanos = properties.responseTimeout().toNanos();
        this.bodyIdleTimeoutNanos = properties.bodyIdleTimeout().toNanos();
        this.upstreamIdleTimeoutNanos = properties.upstreamIdleTimeout().toNanos();
        this.upstreamReuseDelayNanos = properties.upstreamReuseDelay().toNanos();
        this.retryPolicy = new RetryPolicy(properties);
        this.tunnelIdleTimeoutNanos = properties.tunnel().idleTimeout().toNanos();
        this.tunnelHalfClosedTimeoutNanos = properties.tunnel().halfClosedTimeout().toNanos();
        this.upgradeProtocols = properties.upgradeProtocols().stream().map(name -> name.toLowerCase(Locale.ROOT))
                .collect(Collectors.toUnmodifiableSet());
    }

    RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    /** {@code fleet.proxy.upgrade-protocols}, lowercase. */
    Set<String> upgradeProtocols() {
        return upgradeProtocols;
    }

    /** The tunnel idle deadlines of the calling event loop. Call only from an event loop thread. */
    ResponseDeadlines tunnelDeadlines() {
        return tunnelDeadlines.get();
    }

    /** {@code fleet.proxy.tunnel.idle-timeout} in nanoseconds; 0: no limit. */
    long tunnelIdleTimeoutNanos() {
        return tunnelIdleTimeoutNanos;
    }

    /** {@code fleet.proxy.tunnel.half-closed-timeout} in nanoseconds. */
    long tunnelHalfClosedTimeoutNanos() {
        return tunnelHalfClosedTimeoutNanos;
    }

    FleetProperties.Proxy properties() {
        return properties;
    }

    /** {@code fleet.proxy.trusted-proxies}, parsed once. */
    TrustedProxies trustedProxies() {
        return trustedProxies;
    }

    /**
     * The forwarded-header rules of a connection from {@code remote} to the proxy's {@code local} address
     * ({@link ForwardedHeaders#of}), the calling thread's last ones when they were made for the same peer IP address
     * and proxy port (the peer's port and the proxy's IP address play no part in them).
     */
    ForwardedHeaders forwardedHeaders(SocketAddress remote, SocketAddress local) {
        ForwardedHeaders last = lastForwarded.get();
        if (last != null && last.madeFor(remote, local)) {
            return last;
        }
        ForwardedHeaders made = ForwardedHeaders.of(remote, local, trustedProxies, secure);
        lastForwarded.set(made);
        return made;
    }

    FleetProperties.Retry retry() {
        return properties.retry();
    }

    long bufferLimit() {
        return bufferLimit;
    }

    /** Whether request bodies are read whole, past {@link #bufferLimit()} into the {@link #spool()}, before a worker is picked. */
    boolean readsBodiesFirst() {
        return readsBodiesFirst;
    }

    /** Where bodies read first are kept past {@link #bufferLimit()}; null when bodies are not read first. */
    BodySpool spool() {
        return spool;
    }

    /** Where responses are kept for clients that read slower than their workers send; null when they are not. */
    BodySpool responseSpool() {
        return responseSpool;
    }

    /** {@code fleet.proxy.client-max-body-size} in bytes; {@link Long#MAX_VALUE} when it is 0 (no limit). */
    long maxBodySize() {
        return maxBodySize;
    }

    /** Sticky sessions; null when {@code fleet.proxy.sticky.cookie} is not set. */
    StickySessions sticky() {
        return sticky;
    }

    /** Sticky sessions learned from the application's cookie; null when {@code fleet.proxy.sticky.app-cookie} is not set. */
    AppCookieSessions appCookies() {
        return appCookies;
    }

    Router router() {
        return router;
    }

    RetryBudget budget() {
        return budget;
    }

    /** An exchange began ({@link Exchange#start}); counted until it ends, whatever it waits for meanwhile. */
    void exchangeStarted() {
        openExchanges.increment();
    }

    /**
     * The most bytes of request bodies that requests with no worker connection yet may hold in memory, all together:
     * past it, bodies read before a worker is picked ({@link #readsBodiesFirst()}) go to the spool from their next
     * byte, and a request that waits for a worker
     * while its body bytes would pass it is answered 503 ({@link Exchange}), so that many slow or queued uploads
     * cannot fill the master's memory.
     */
    static final long WAITING_BODIES_LIMIT = 32L << 20;

    /**
     * Counts {@code bytes} (negative: gives them back) of request bodies held while their requests
     * have no worker connection yet; returns whether the total is within {@link #WAITING_BODIES_LIMIT}. Any thread.
     */
    boolean holdWaitingBody(long bytes) {
        return waitingBodies.addAndGet(bytes) <= WAITING_BODIES_LIMIT;
    }

    /** Whether the bodies held by requests with no worker connection are within {@link #WAITING_BODIES_LIMIT}. */
    boolean waitingBodiesWithinLimit() {
        return waitingBodies.get() <= WAITING_BODIES_LIMIT;
    }

    /** Bytes of request bodies held now by requests with no worker connection yet. */
    long waitingBodyBytes() {
        return waitingBodies.get();
    }

    /** The request heads all connections are in the middle of reading, bounded together. */
    UnfinishedHeads unfinishedHeads() {
        return unfinishedHeads;
    }

    void exchangeEnded() {
        openExchanges.decrement();
    }

    /**
     * Requests begun and not yet over: sent to a worker, waiting for one, or between two attempts, and those whose
     * client left while a worker still works on them ({@link Attempt#abandon}). One count per request from its
     * start to its end, so that a drain reading it never sees a request that moves from one stage to the next as
     * gone. Any thread.
     */
    long openExchanges() {
        return openExchanges.sum();
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    /** The access log; null when it is off. */
    AccessLog accessLog() {
        return accessLog;
    }

    /** The idle-connection pool of the calling event loop. Call only from an event loop thread. */
    UpstreamPool pool() {
        return pools.get();
    }

    /** The response deadlines of the calling event loop. Call only from an event loop thread. */
    ResponseDeadlines deadlines() {
        return deadlines.get();
    }

    /**
     * The body idle deadlines of the calling event loop (a list of their own: every entry there waits the body idle
     * timeout). Call only from an event loop thread.
     */
    ResponseDeadlines bodyDeadlines() {
        return bodyDeadlines.get();
    }

    long responseTimeoutNanos() {
        return responseTimeoutNanos;
    }

    /** {@code fleet.proxy.body-idle-timeout} in nanoseconds; 0: no limit. */
    long bodyIdleTimeoutNanos() {
        return bodyIdleTimeoutNanos;
    }

    private FastThreadLocal<ResponseDeadlines> newDeadlines() {
        return new FastThreadLocal<>() {
            @Override
            protected ResponseDeadlines initialValue() {
                return new ResponseDeadlines(sweepers.get()::ensureBy);
            }
        };
    }

    /**
     * Lets the calling event loop's {@link Sweeper} set its timers on {@code loop} from now on. Call on that loop,
     * before its first connection: until then its deadlines are only acted on when swept by hand.
     */
    void startSweeping(EventExecutor loop) {
        sweepers.get().bind((task, delayNanos) -> loop.schedule(task, delayNanos, TimeUnit.NANOSECONDS));
    }

    /**
     * Times out the calling event loop's exchanges past a deadline and closes its expired idle connections; each
     * list then tells the loop's {@link Sweeper} its earliest deadline left. Run by that sweeper.
     */
    void sweep(long nowNanos) {
        deadlines().sweep(nowNanos);
        bodyDeadlines().sweep(nowNanos);
        tunnelDeadlines().sweep(nowNanos);
        pool().sweep();
    }

    /** Opens a connection to a worker, registered on the same event loop as the client. */
    ChannelFuture connect(EventLoop loop, int port) {
        return upstreamBootstrap.clone(loop).connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }

    boolean draining() {
        return draining;
    }

    void startDraining() {
        draining = true;
    }

    /** Whether the drain has ended and the proxy closes its client connections itself, requests in flight cut. */
    boolean cuttingClients() {
        return cuttingClients;
    }

    void startCuttingClients() {
        cuttingClients = true;
    }

    /** {@code fleet.proxy.sticky.app-cookie-max-entries}, lowered (and said so) to what this JVM's heap holds. */
    private static int appCookieEntries(int configured) {
        long maxHeap = Runtime.getRuntime().maxMemory();
        int entries = AppCookieSessions.fit(configured, maxHeap);
        if (entries < configured) {
            log.warn("fleet.proxy.sticky.app-cookie-max-entries {} lowered to {}, what a quarter of the master's heap "
                    + "holds ({} MB, -Xmx; about {} bytes a value): raise -Xmx for more", configured, entries,
                    maxHeap >> 20, AppCookieSessions.BYTES_PER_ENTRY);
        }
        return entries;
    }
}
