package dev.shepherd.proxy;

import io.netty.channel.ChannelFuture;
import lombok.extern.slf4j.Slf4j;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * {@code fleet.proxy.max-connections-per-client}: how many connections one client may hold at once, so that one
 * client cannot take all of {@code max-connections} and leave everyone else waiting in the backlog. A client is its
 * IPv4 address, or the /64 prefix of its IPv6 address (one host usually has a whole /64 to pick addresses from); an
 * IPv4-mapped IPv6 address counts as the IPv4 address it carries. Peers in {@code fleet.proxy.trusted-proxies} are
 * not limited: a load balancer's connections carry many clients. A connection past the limit is closed at once,
 * unread, as HAProxy's {@code tcp-request connection reject if { src_conn_cur ge N }} and Envoy's connection limit
 * filter do: answering it would mean holding it until its request came, which is what the limit saves. nginx's
 * {@code limit_conn} answers 503 instead, but counts requests being processed, not connections.
 * <p>A client that closes a connection and opens another at once can have the new one accepted before an event loop
 * has seen the close (an attacking helper saw 25 % of such reconnections refused on io_uring). So a connection
 * over the limit is first held, unread, for {@link #RECHECK_NANOS} and looked at again ({@link Verdict#RECHECK});
 * at most {@link #MAX_RECHECKS} are held at once, beyond which one is refused at once. Held and refused connections
 * are not counted in {@code max-connections}.
 * <p>A key exists only while its client has a connection open, so the map holds at most as many keys as the proxy
 * holds connections ({@code max-connections}). {@link #admit} runs on the event loops; refusals are logged at most
 * once per {@link ConnectionLimit#LOG_INTERVAL_NANOS}, with their count and the last client's address.
 */
@Slf4j
public final class ClientConnectionLimit {

    /** What to do with a new connection. */
    enum Verdict {
        /** Within its client's limit. */
        ADMIT,
        /** Over it: hold it unread and call {@link #recheck} after {@link #RECHECK_NANOS}. */
        RECHECK,
        /** Over it, and too many are held already: close it. */
        REFUSE
    }

    /** How long a connection over its client's limit is held before it is looked at again. */
    static final long RECHECK_NANOS = 50_000_000L;
    /** How many connections over their client's limit may be held at once, all clients together. */
    static final int MAX_RECHECKS = 64;

    private final int max;
    private final TrustedProxies exempt;
    /** Open connections per client ({@link #client}): IPv4 addresses, IPv6 /64 prefixes, link-local addresses. */
    private final ConcurrentHashMap<Object, Integer> open = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicInteger rechecks = new AtomicInteger();
    private final AtomicLong refusedSinceLog = new AtomicLong();
    private final AtomicLong lastLog = new AtomicLong(Long.MIN_VALUE);
    private final LongSupplier nanoTime;

    /**
     * @param max connections per client; 0: no limit
     * @param exempt peers not limited (the trusted proxies)
     */
    ClientConnectionLimit(int max, TrustedProxies exempt, LongSupplier nanoTime) {
        this.max = max;
        this.exempt = exempt;
        this.nanoTime = nanoTime;
    }

    /**
     * A connection from {@code remote} was accepted; counted for its client until {@code closed} completes. Called
     * on the connection's event loop.
     */
    Verdict admit(SocketAddress remote, ChannelFuture closed) {
        if (max == 0 || !(remote instanceof InetSocketAddress inet) || inet.getAddress() == null
                || exempt.trusts(inet.getAddress())) {
            return Verdict.ADMIT;
        }
        Object client = client(inet.getAddress());
        int count = open.merge(client, 1, Integer::sum);
        closed.addListener(future -> open.computeIfPresent(client, (key, now) -> now == 1 ? null : now - 1));
        if (count <= max) {
            return Verdict.ADMIT;
        }
        if (rechecks.incrementAndGet() <= MAX_RECHECKS) {
            return Verdict.RECHECK;
        }
        rechecks.decrementAndGet();
        refuse(inet);
        return Verdict.REFUSE;
    }

    /**
     * {@link Verdict#RECHECK}'s second look, once per held connection: whether its client is within the limit now
     * (the closes its loops had not seen are seen); false: the caller closes it.
     */
    boolean recheck(SocketAddress remote) {
        rechecks.decrementAndGet();
        InetSocketAddress inet = (InetSocketAddress) remote;
        if (open.getOrDefault(client(inet.getAddress()), 0) <= max) {
            return true;
        }
        refuse(inet);
        return false;
    }

    private void refuse(InetSocketAddress inet) {
        refused.incrementAndGet();
        refusedSinceLog.incrementAndGet();
        long now = nanoTime.getAsLong();
        long last = lastLog.get();
        if ((last == Long.MIN_VALUE || now - last >= ConnectionLimit.LOG_INTERVAL_NANOS) && lastLog.compareAndSet(last, now)) {
            log.warn("Closed {} connection(s) of clients that held {} already (fleet.proxy.max-connections-per-client), "
                    + "the last from {}", refusedSinceLog.getAndSet(0), max, inet.getAddress().getHostAddress());
        }
    }

    /**
     * The client an address belongs to, as a key of its own kind: the IPv4 address (one mapped into IPv6, or
     * translated by NAT64 under {@code 64:ff9b::/96}, RFC 6052, counts as the IPv4 address it carries), or the IPv6
     * address's /64 prefix, or a link-local IPv6 address whole: every host on a link has the same prefix,
     * {@code fe80::/64}, and would have counted as one client. The admin port counts its clients the same way.
     */
    public static Object client(InetAddress address) {
        InetAddress peer = TrustedProxies.unmapped(address);
        ByteBuffer bytes = ByteBuffer.wrap(peer.getAddress());
        if (peer instanceof Inet4Address) {
            return bytes.getInt();
        }
        if (peer.isLinkLocalAddress()) {
            return new LinkLocal(bytes.getLong(8));
        }
        long prefix = bytes.getLong();
        if (prefix == NAT64_PREFIX && bytes.getInt() == 0) {
            return bytes.getInt();
        }
        return prefix;
    }

    /** A link-local IPv6 client: its interface identifier (the last 64 bits), whatever its scope. */
    private record LinkLocal(long interfaceId) {
    }

    /** The first 64 bits of RFC 6052's well-known NAT64 prefix, 64:ff9b::/96. */
    private static final long NAT64_PREFIX = 0x0064_ff9b_0000_0000L;

    /** Connections closed at once because their client was at the limit, since the start. */
    long refused() {
        return refused.get();
    }

    /** Clients with a connection open now (when limited), for tests. */
    int clients() {
        return open.size();
    }
}
