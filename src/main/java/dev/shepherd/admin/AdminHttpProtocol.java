package dev.shepherd.admin;

import dev.shepherd.proxy.ClientConnectionLimit;
import io.netty.util.NetUtil;
import lombok.extern.slf4j.Slf4j;
import org.apache.coyote.http11.Http11NioProtocol;
import org.apache.tomcat.util.net.NioChannel;
import org.apache.tomcat.util.net.NioEndpoint;
import org.apache.tomcat.util.net.SocketWrapperBase;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The admin port's HTTP/1.1 protocol: Tomcat's NIO one, with {@code fleet.admin.max-connections-per-client}. One
 * client (an IPv4 address, an IPv6 /64: {@link #clientKey}) may hold at most that many of the port's connections
 * ({@code server.tomcat.max-connections}, 256) at once; a connection past it is closed as soon as it is accepted, unread, as HAProxy's
 * {@code tcp-request connection reject if { src_conn_cur ge N }} does and the proxy's
 * {@code fleet.proxy.max-connections-per-client} does. Tomcat bounds each read of a request head
 * ({@code connection-timeout}) but not the head as a whole, so a client sending a byte every few seconds keeps a
 * connection for ever: without this, one client with 256 such connections took the admin port, and with it the
 * health probes a Kubernetes kubelet sends there. Loopback clients are not limited: the command line, a local
 * Prometheus and the workers share one address there, and a process on the machine can reach the master by other
 * means anyway.
 *
 * <p>Made by Tomcat from its class name ({@link AdminTomcat}); {@link #setSocketOptions} runs on Tomcat's acceptor
 * thread and counts the port's open connections from the new one's address (at most 256).
 */
@Slf4j
public class AdminHttpProtocol extends Http11NioProtocol {

    public AdminHttpProtocol() {
        super(new LimitedEndpoint());
    }

    /** {@code max} connections per client outside loopback; 0: no limit. */
    void setMaxConnectionsPerClient(int max) {
        ((LimitedEndpoint) getEndpoint()).max = max;
    }

    /**
     * The client {@code address} counts for, as {@code fleet.proxy.max-connections-per-client} counts
     * ({@link ClientConnectionLimit#client}): an IPv4 address (also mapped into IPv6 or through NAT64), an IPv6
     * address's /64 prefix (a host usually has a whole /64 to pick addresses from), a link-local address whole.
     */
    static Object clientKey(InetAddress address) {
        return ClientConnectionLimit.client(address);
    }

    /** As {@link #clientKey(InetAddress)}, for an address as Tomcat keeps it, a literal; the text when it is none. */
    static Object clientKey(String literal) {
        if (literal == null) {
            return "";
        }
        try {
            if (literal.indexOf(':') >= 0) {
                // With a colon, InetAddress reads an IPv6 literal (a zone too), and looks nothing up.
                return clientKey(InetAddress.getByName(literal));
            }
            // An IPv4 literal, else null: never a name to look up.
            byte[] ipv4 = NetUtil.createByteArrayFromIpAddressString(literal);
            return ipv4 == null ? literal : clientKey(InetAddress.getByAddress(ipv4));
        } catch (UnknownHostException notLiteral) {
            return literal;
        }
    }

    private static final class LimitedEndpoint extends NioEndpoint {

        /** Past this many clients with refusals, the counts start again: bounded whoever is refused. */
        private static final int MAX_COUNTED_CLIENTS = 1024;

        private volatile int max;
        /** Refusals per client, so that each client's flood is told on its own (found by an attacking helper). */
        private final ConcurrentHashMap<Object, AtomicLong> refused = new ConcurrentHashMap<>();

        @Override
        protected boolean setSocketOptions(SocketChannel socket) {
            int limit = max;
            InetAddress client = limit == 0 ? null : address(socket);
            if (client != null && !client.isLoopbackAddress()) {
                String address = client.getHostAddress();
                Object key = clientKey(client);
                int open = 0;
                for (SocketWrapperBase<NioChannel> connection : getConnections()) {
                    if (key.equals(clientKey(connection.getRemoteAddr())) && ++open >= limit) {
                        if (refused.size() >= MAX_COUNTED_CLIENTS && !refused.containsKey(key)) {
                            refused.clear();
                        }
                        long count = refused.computeIfAbsent(key, absent -> new AtomicLong()).incrementAndGet();
                        // A client's 1st, 2nd, 4th, 8th... refusal: a flood is told without flooding the log, and one
                        // client's flood does not hide another's refusals.
                        if (Long.bitCount(count) == 1) {
                            log.warn("Refused a connection to the admin port from {}: it holds {} already "
                                    + "(fleet.admin.max-connections-per-client); {} of its connections refused so far",
                                    address, limit, count);
                        }
                        // Tomcat's acceptor closes a refused socket only once it has a wrapper, which this one
                        // never got: closed and uncounted here, or it stayed open and counted for ever.
                        destroySocket(socket);
                        return false;
                    }
                }
            }
            return super.setSocketOptions(socket);
        }

        private static InetAddress address(SocketChannel socket) {
            try {
                return socket.getRemoteAddress() instanceof InetSocketAddress inet ? inet.getAddress() : null;
            } catch (IOException closed) {
                return null;
            }
        }
    }
}
