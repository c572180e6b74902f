package dev.shepherd.proxy;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What one client connection's requests tell a worker about where they came from: the {@code X-Forwarded-*} and
 * {@code Forwarded} (RFC 7239) headers, decided once per connection from its peer address, which cannot change.
 * <ul>
 *   <li><b>A trusted peer</b> ({@link TrustedProxies}, a load balancer or an Ingress in front): what it sent is kept
 *       as it came, but for the claims spelt with underscores, which no proxy sets, and its address is appended to {@code X-Forwarded-For} (RFC 7239 §4 and nginx: each proxy
 *       appends the address it received the request from). When it sent none of {@code Forwarded},
 *       {@code X-Forwarded-Proto}, {@code -Host}, {@code -Port} and {@code -Ssl}, those Shepherd saw are added; when
 *       it sent any, nothing is added, since a mix would describe two hops as one (an {@code X-Forwarded-Proto: https}
 *       given our port 8080 makes Tomcat build {@code https://host:8080} links).</li>
 *   <li><b>Any other peer</b>: nothing it claims reaches a worker. {@code Forwarded}, {@code X-Forwarded-Prefix},
 *       {@code X-Forwarded-Ssl} and {@code X-Real-IP} are removed (Spring's {@code ForwardedHeaderFilter} prefers
 *       {@code Forwarded} and reads the prefix and the SSL flag; nginx users read {@code X-Real-IP}), and so are the
 *       other names frameworks read for the scheme, the client's address and the path ({@link #OTHER_CLAIMS}), and
 *       {@code X-Forwarded-For}, {@code -Proto}, {@code -Host} and {@code -Port} are set to what Shepherd saw. Any
 *       of these names spelt with underscores ({@code X_Forwarded_For}) is removed too.</li>
 * </ul>
 * What Shepherd saw: {@code X-Forwarded-For: <peer>} (IPv6 in RFC 5952 form, without brackets, as nginx writes it),
 * {@code X-Forwarded-Proto: http}, or {@code https} when the proxy terminates TLS ({@link ProxyTls}),
 * {@code X-Forwarded-Host: <Host>} (left out for
 * an HTTP/1.0 request without one) and {@code X-Forwarded-Port: <the proxy's port the client connected to>}.
 * Shepherd writes no {@code Forwarded} of its own, as nginx does not. A trusted chain grows by one address per
 * request and is bounded by {@code fleet.proxy.max-header-size}, which it had to pass to get here. Immutable.
 */
final class ForwardedHeaders {

    static final AsciiString FORWARDED = AsciiString.cached("Forwarded");
    static final AsciiString X_FORWARDED_FOR = AsciiString.cached("X-Forwarded-For");
    static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("X-Forwarded-Proto");
    static final AsciiString X_FORWARDED_HOST = AsciiString.cached("X-Forwarded-Host");
    static final AsciiString X_FORWARDED_PORT = AsciiString.cached("X-Forwarded-Port");
    static final AsciiString X_FORWARDED_SSL = AsciiString.cached("X-Forwarded-Ssl");
    static final AsciiString X_FORWARDED_PREFIX = AsciiString.cached("X-Forwarded-Prefix");
    static final AsciiString X_REAL_IP = AsciiString.cached("X-Real-IP");

    /** What a proxy in front says of the original request's scheme, host and port. */
    private static final List<AsciiString> ORIGIN = List.of(FORWARDED, X_FORWARDED_PROTO, X_FORWARDED_HOST,
            X_FORWARDED_PORT, X_FORWARDED_SSL);
    /**
     * The other names frameworks read for the same claims, which a client may not make either: the scheme (Tornado's
     * {@code X-Scheme}, Rack's {@code X-Forwarded-Scheme} and {@code X-Url-Scheme}, CloudFront's
     * {@code CloudFront-Forwarded-Proto}, {@code X-Forwarded-HTTPS}, {@code X-Forwarded-Protocol}, {@code Front-End-Https},
     * Jetty's {@code X-Proxied-Https}, Azure's {@code X-ARR-SSL}, Cloudflare's {@code CF-Visitor}), the client's address (what the CDNs and balancers set and the
     * {@code request-ip} package reads first: {@code X-Client-IP}, {@code True-Client-IP}, {@code X-Cluster-Client-IP},
     * {@code CF-Connecting-IP}, {@code Fastly-Client-IP}, {@code Fly-Client-IP}, Gin's {@code X-Appengine-Remote-Addr};
     * Rails' {@code Client-IP}; Envoy's
     * {@code X-Envoy-External-Address}; {@code X-Forwarded} and {@code Forwarded-For}), the host ({@code X-Original-Host},
     * {@code X-Host}), Apache's {@code X-Forwarded-Server}, and the path and the prefix that some frameworks route on
     * or build links from ({@code X-Original-URL}, {@code X-Rewrite-URL}: Symfony, IIS; Traefik's
     * {@code X-Forwarded-Uri}, nginx users' {@code X-Original-URI}, Flask recipes' {@code X-Script-Name}, Daphne's
     * {@code Daphne-Root-Path}; gunicorn's
     * {@code SCRIPT_NAME} and {@code PATH_INFO}, which it takes from 127.0.0.1, the proxy's address, by default, and
     * which the underscore rule catches as {@code Script-Name} and {@code Path-Info}), which would make the worker
     * route another path than the proxy saw. Found missing by attacking helpers (2026-12-04). Then the rest of
     * {@code request-ip}'s list ({@code X-Appengine-User-IP}, {@code Cf-Pseudo-IPv4}, {@code Cf-Pseudo-IPv6}),
     * DigitalOcean's {@code DO-Connecting-IP}, Azure Front Door's {@code X-Azure-ClientIP} and {@code X-Azure-SocketIP},
     * Google's {@code X-ProxyUser-Ip}, ingress-nginx's {@code X-Original-Forwarded-For}, Kong's
     * {@code X-Forwarded-Path}, and what Java's common {@code getIpAddr} recipe (and Hutool's {@code getClientIP})
     * reads after {@code X-Forwarded-For}: {@code Proxy-Client-IP}, {@code WL-Proxy-Client-IP}, the literal
     * {@code HTTP_CLIENT_IP}, {@code HTTP_X_FORWARDED_FOR} and {@code HTTP_X_FORWARDED} (caught as their
     * dash spellings), {@code X-Remote-IP}, {@code X-Remote-Addr} and {@code REMOTE_ADDR} (found missing by an
     * attacking helper, 2026-12-04). And the identity an authenticating proxy in front vouches for
     * ({@code X-Forwarded-User}, {@code X-Auth-Request-User}, {@code Remote-User}…), which apps behind one trust.
     */
    private static final List<AsciiString> OTHER_CLAIMS = List.of(AsciiString.cached("X-Forwarded-Scheme"),
            AsciiString.cached("X-Url-Scheme"), AsciiString.cached("X-Forwarded-Protocol"),
            AsciiString.cached("Front-End-Https"), AsciiString.cached("X-Client-IP"), AsciiString.cached("True-Client-IP"),
            AsciiString.cached("X-Cluster-Client-IP"), AsciiString.cached("CF-Connecting-IP"),
            AsciiString.cached("Fastly-Client-IP"), AsciiString.cached("X-Forwarded-Server"),
            AsciiString.cached("X-Original-URL"), AsciiString.cached("X-Rewrite-URL"),
            AsciiString.cached("X-Proxied-Https"), AsciiString.cached("Client-IP"),
            AsciiString.cached("X-Envoy-External-Address"), AsciiString.cached("X-Forwarded"),
            AsciiString.cached("Forwarded-For"), AsciiString.cached("X-Original-Host"), AsciiString.cached("X-Host"),
            AsciiString.cached("X-Forwarded-Uri"), AsciiString.cached("X-Original-URI"),
            AsciiString.cached("X-Script-Name"), AsciiString.cached("Script-Name"), AsciiString.cached("Path-Info"),
            AsciiString.cached("Daphne-Root-Path"), AsciiString.cached("Fly-Client-IP"),
            AsciiString.cached("X-Appengine-Remote-Addr"), AsciiString.cached("X-ARR-SSL"),
            AsciiString.cached("X-ARR-ClientCert"), AsciiString.cached("CF-Visitor"),
            // What a TLS-terminating proxy says of the client's certificate and session (Envoy's XFCC, nginx's and
            // HAProxy's usual names, Traefik's, Jetty's, Tomcat's SSLValve and Undertow's, which the underscore rule
            // also catches as SSL_CLIENT_CERT): Shepherd passes none on, so a client must not claim one.
            AsciiString.cached("X-Forwarded-Client-Cert"), AsciiString.cached("X-Client-Cert"),
            AsciiString.cached("X-SSL-Client-Cert"), AsciiString.cached("X-SSL-Cert"),
            AsciiString.cached("X-SSL-Client-Verify"), AsciiString.cached("X-SSL-Client-DN"),
            AsciiString.cached("X-SSL-Client-S-DN"), AsciiString.cached("X-SSL-Client-I-DN"),
            AsciiString.cached("X-Client-Verify"), AsciiString.cached("X-Client-DN"),
            AsciiString.cached("SSL-Client-Cert"), AsciiString.cached("SSL-Client-Verify"),
            AsciiString.cached("X-Forwarded-Tls-Client-Cert"), AsciiString.cached("X-Forwarded-Tls-Client-Cert-Info"),
            AsciiString.cached("X-Client-Cert-DN"), AsciiString.cached("Proxy-Auth-Cert"),
            AsciiString.cached("Proxy-Ssl-Id"), AsciiString.cached("SSL-Cipher"), AsciiString.cached("SSL-Session-Id"),
            AsciiString.cached("SSL-Cipher-Usekeysize"),
            AsciiString.cached("X-Appengine-User-IP"), AsciiString.cached("Cf-Pseudo-IPv4"),
            AsciiString.cached("Cf-Pseudo-IPv6"), AsciiString.cached("DO-Connecting-IP"),
            AsciiString.cached("X-Azure-ClientIP"), AsciiString.cached("X-Azure-SocketIP"),
            AsciiString.cached("X-ProxyUser-Ip"), AsciiString.cached("X-Original-Forwarded-For"),
            AsciiString.cached("X-Forwarded-Path"), AsciiString.cached("Proxy-Client-IP"),
            AsciiString.cached("WL-Proxy-Client-IP"), AsciiString.cached("Http-Client-IP"),
            AsciiString.cached("Http-X-Forwarded-For"), AsciiString.cached("Http-X-Forwarded"),
            AsciiString.cached("X-Remote-IP"), AsciiString.cached("X-Remote-Addr"), AsciiString.cached("Remote-Addr"),
            // Tornado's X-Scheme, which it reads before X-Forwarded-Proto (Jupyter too), CloudFront's scheme,
            // X-Forwarded-HTTPS, Tomcat's RemoteIpValve proxies header X-Forwarded-By, and the address names
            // X-Originating-IP, X-Forwarded-IP and CF-Connecting-IPv6 (found missing by an attacking helper).
            AsciiString.cached("X-Scheme"), AsciiString.cached("CloudFront-Forwarded-Proto"),
            AsciiString.cached("X-Forwarded-HTTPS"), AsciiString.cached("X-Forwarded-By"),
            AsciiString.cached("X-Originating-IP"), AsciiString.cached("X-Forwarded-IP"),
            AsciiString.cached("CF-Connecting-IPv6"),
            // Who the client is, as an authenticating proxy in front says (oauth2-proxy, Pomerium, Authelia, Apache's
            // mod_auth_*): apps behind one trust them, so a client must not make them.
            AsciiString.cached("X-Forwarded-User"), AsciiString.cached("X-Forwarded-Email"),
            AsciiString.cached("X-Forwarded-Groups"), AsciiString.cached("X-Forwarded-Preferred-Username"),
            AsciiString.cached("X-Forwarded-Access-Token"), AsciiString.cached("X-Auth-Request-User"),
            AsciiString.cached("X-Auth-Request-Email"), AsciiString.cached("X-Auth-Request-Groups"),
            AsciiString.cached("X-Auth-Request-Preferred-Username"), AsciiString.cached("X-Auth-Request-Access-Token"),
            AsciiString.cached("Remote-User"), AsciiString.cached("Remote-Email"), AsciiString.cached("Remote-Groups"),
            AsciiString.cached("Remote-Name"), AsciiString.cached("X-Remote-User"),
            AsciiString.cached("X-Pomerium-Jwt-Assertion"),
            // The same from Grafana's auth proxy default, Cloudflare Access, Google IAP, AWS ALB's OIDC, Azure App
            // Service authentication, authentik and Tailscale Serve (found missing by an attacking helper).
            AsciiString.cached("X-WEBAUTH-USER"), AsciiString.cached("X-WEBAUTH-EMAIL"),
            AsciiString.cached("X-WEBAUTH-NAME"), AsciiString.cached("Cf-Access-Authenticated-User-Email"),
            AsciiString.cached("Cf-Access-Jwt-Assertion"), AsciiString.cached("X-Goog-Authenticated-User-Email"),
            AsciiString.cached("X-Goog-Authenticated-User-Id"), AsciiString.cached("X-Goog-Iap-Jwt-Assertion"),
            AsciiString.cached("X-Amzn-Oidc-Identity"), AsciiString.cached("X-Amzn-Oidc-Data"),
            AsciiString.cached("X-Amzn-Oidc-Accesstoken"), AsciiString.cached("X-MS-CLIENT-PRINCIPAL"),
            AsciiString.cached("X-MS-CLIENT-PRINCIPAL-NAME"), AsciiString.cached("X-MS-CLIENT-PRINCIPAL-ID"),
            AsciiString.cached("X-MS-CLIENT-PRINCIPAL-IDP"), AsciiString.cached("X-MS-TOKEN-AAD-ID-TOKEN"),
            AsciiString.cached("X-MS-TOKEN-AAD-ACCESS-TOKEN"), AsciiString.cached("X-authentik-username"),
            AsciiString.cached("X-authentik-email"), AsciiString.cached("X-authentik-name"),
            AsciiString.cached("X-authentik-uid"), AsciiString.cached("X-authentik-groups"),
            AsciiString.cached("X-authentik-jwt"), AsciiString.cached("Tailscale-User-Login"),
            AsciiString.cached("Tailscale-User-Name"), AsciiString.cached("Tailscale-User-Profile-Pic"));
    /** Everything an untrusted client could claim about itself or the request: removed. */
    private static final List<AsciiString> CLAIMS = Stream.concat(Stream.of(FORWARDED,
            X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, X_FORWARDED_PORT, X_FORWARDED_SSL, X_FORWARDED_PREFIX,
            X_REAL_IP), OTHER_CLAIMS.stream()).toList();
    /**
     * {@link #CLAIMS} by {@link AsciiString#hashCode(CharSequence)}, which ignores case as header names do: a request's
     * names are looked up in one pass, without allocating, where removing each of the ~80 names cost a lookup each.
     */
    private static final AsciiString[][] CLAIMS_BY_HASH = byHash(CLAIMS, 256);

    private final String peer;
    private final boolean trusted;
    private final String localPort;
    /** {@code http}, or {@code https} on a TLS connection. */
    private final String proto;
    /** The peer's IP address and the proxy's port these rules were made for ({@link #madeFor}); null and -1 when
     * made from no IP address. */
    private final InetAddress address;
    private final int port;

    /**
     * @param peer the peer's address as it goes into {@code X-Forwarded-For}
     * @param trusted whether the peer's own forwarded headers are kept
     * @param localPort the proxy's port the peer connected to, for {@code X-Forwarded-Port}; null: not known
     */
    /** The peer's address as it goes into {@code X-Forwarded-For}, or "unknown". */
    String peer() {
        return peer;
    }

    ForwardedHeaders(String peer, boolean trusted, String localPort) {
        this(peer, trusted, localPort, false, null, -1);
    }

    private ForwardedHeaders(String peer, boolean trusted, String localPort, boolean secure, InetAddress address,
                             int port) {
        this.proto = secure ? "https" : "http";
        this.peer = peer;
        this.trusted = trusted;
        this.localPort = localPort;
        this.address = address;
        this.port = port;
    }

    /**
     * The rules for a connection from {@code remote} to the proxy's {@code local} address. A peer of no IP address
     * (not a socket) is "unknown" (RFC 7239 §6.3) and untrusted.
     */
    static ForwardedHeaders of(SocketAddress remote, SocketAddress local, TrustedProxies trustedProxies) {
        return of(remote, local, trustedProxies, false);
    }

    /** {@link #of(SocketAddress, SocketAddress, TrustedProxies)} for a connection that is TLS when {@code secure}. */
    static ForwardedHeaders of(SocketAddress remote, SocketAddress local, TrustedProxies trustedProxies,
                               boolean secure) {
        InetAddress address = remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
        InetAddress peer = address == null ? null : TrustedProxies.unmapped(address);
        int localPort = local instanceof InetSocketAddress inet ? inet.getPort() : -1;
        boolean keyed = address != null && localPort >= 0;
        return new ForwardedHeaders(peer == null ? "unknown" : NetUtil.toAddressString(peer),
                trustedProxies.trusts(peer), localPort >= 0 ? Integer.toString(localPort) : null, secure,
                keyed ? address : null, keyed ? localPort : -1);
    }

    /**
     * Whether these rules were made for a connection from {@code remote}'s IP address to {@code local}'s port, so
     * that they hold for it as they are (the peer's port plays no part in them). False for rules made from no IP
     * address.
     */
    boolean madeFor(SocketAddress remote, SocketAddress local) {
        return address != null && remote instanceof InetSocketAddress peer && local instanceof InetSocketAddress self
                && self.getPort() == port && address.equals(peer.getAddress());
    }

    boolean trusted() {
        return trusted;
    }

    /**
     * Sets the forwarded headers of a request head whose hop-by-hop headers are already gone. {@code host} is the
     * {@code Host} the request names (its absolute-form authority, if it had one), or null when it names none.
     * Called on the client connection's event loop.
     */
    void apply(HttpHeaders headers, String host) {
        if (trusted) {
            // No proxy sets an underscore spelling, and many pass one on from their client (Envoy, HAProxy):
            // X_Forwarded_For from behind a trusted front still reaches a WSGI app as HTTP_X_FORWARDED_FOR, the
            // case of Puma's CVE-2024-45614 (found by an attacking helper).
            removeClaims(headers, true);
            headers.set(X_FORWARDED_FOR, appended(headers.getAll(X_FORWARDED_FOR)));
            for (AsciiString name : ORIGIN) {
                if (headers.contains(name)) {
                    return;
                }
            }
        } else {
            removeClaims(headers, false);
            headers.set(X_FORWARDED_FOR, peer);
        }
        headers.set(X_FORWARDED_PROTO, proto);
        if (host != null) {
            headers.set(X_FORWARDED_HOST, host);
        }
        if (localPort != null) {
            headers.set(X_FORWARDED_PORT, localPort);
        }
    }

    /**
     * Removes every claim spelt with underscores, and unless {@code underscoresOnly} with dashes too:
     * {@code X_Forwarded_For} reaches WSGI, Rack and PHP apps as {@code HTTP_X_FORWARDED_FOR}, like the real one
     * (Puma's CVE-2024-45614).
     */
    private static void removeClaims(HttpHeaders headers, boolean underscoresOnly) {
        List<CharSequence> claimed = null;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            CharSequence name = it.next().getKey();
            boolean underscored = AsciiString.indexOf(name, '_', 0) >= 0;
            if (underscored ? isClaim(name.toString().replace('_', '-')) : !underscoresOnly && isClaim(name)) {
                if (claimed == null) {
                    claimed = new ArrayList<>(2);
                }
                claimed.add(name);
            }
        }
        if (claimed != null) {
            claimed.forEach(headers::remove);
        }
    }

    /**
     * Families of claims, by the start of their names (any case): every {@code X-Forwarded-*}, {@code X-Real-*} and
     * {@code X-Original-*} (a client is none of those proxies; {@code X-Original-URL} rewrites the path in IIS and
     * Symfony), certificate headers ({@code X-SSL-*}, {@code SSL-*}, AWS ALB's {@code X-Amzn-Mtls-*}), and the
     * identity headers of authenticating fronts that make several (Pomerium's {@code X-Pomerium-Claim-*}, Kong's
     * {@code X-Consumer-*}, …). Names alone missed {@code X-Forwarded-Client-Ip}, {@code X-Pomerium-Claim-Email} and
     * 30 more (found by an attacking helper).
     */
    private static final List<String> CLAIM_FAMILIES = List.of("x-forwarded-", "x-real-", "x-original-", "x-ssl-",
            "ssl-", "x-amzn-mtls-", "x-amzn-oidc-", "x-pomerium-", "x-ms-client-principal", "x-ms-token-",
            "x-authentik-", "tailscale-", "cf-access-", "x-goog-authenticated-", "x-goog-iap-", "x-webauth-",
            "x-auth-request-", "x-consumer-", "x-vouch-", "oidc-claim-", "x-endpoint-api-userinfo",
            "x-apigateway-api-userinfo");

    /** Whether {@code name} (any case) is one of the claims a client may make only through a trusted proxy. */
    static boolean isClaim(CharSequence name) {
        AsciiString[] bucket = CLAIMS_BY_HASH[AsciiString.hashCode(name) & (CLAIMS_BY_HASH.length - 1)];
        if (bucket != null) {
            for (AsciiString claim : bucket) {
                if (claim.contentEqualsIgnoreCase(name)) {
                    return true;
                }
            }
        }
        if (name.isEmpty()) {
            return false;
        }
        // Most names (Host, Accept, User-Agent, Content-*) start with none of the families' letters.
        char first = Character.toLowerCase(name.charAt(0));
        if (first != 'x' && first != 's' && first != 't' && first != 'c' && first != 'o') {
            return false;
        }
        for (String family : CLAIM_FAMILIES) {
            if (name.length() >= family.length()
                    && AsciiString.regionMatches(name, true, 0, family, 0, family.length())) {
                return true;
            }
        }
        return false;
    }

    private static AsciiString[][] byHash(List<AsciiString> names, int buckets) {
        AsciiString[][] table = new AsciiString[buckets][];
        for (AsciiString name : names) {
            int i = AsciiString.hashCode(name) & (buckets - 1);
            AsciiString[] bucket = table[i] == null ? new AsciiString[0] : table[i];
            table[i] = Arrays.copyOf(bucket, bucket.length + 1);
            table[i][bucket.length] = name;
        }
        return table;
    }

    /** The chain the trusted peer sent (all its lines, in order, blank ones left out), then the peer. */
    private String appended(List<String> chain) {
        StringBuilder joined = new StringBuilder();
        for (String link : chain) {
            if (!link.isBlank()) {
                joined.append(link).append(", ");
            }
        }
        return joined.append(peer).toString();
    }
}
