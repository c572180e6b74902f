package dev.shepherd.admin;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.util.StringUtils;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Keeps pages of other web origins away from the admin plane, token or not, with the three rules that Jupyter and
 * the local dashboards of Docker and Kubernetes came to:
 * <ol>
 *   <li>Without {@code fleet.admin.token}, a {@code Host} that is not a loopback name (localhost, 127.0.0.0/8,
 *       [::1], any port) nor one of {@code fleet.admin.allowed-hosts} gets 403. This stops DNS rebinding: a page
 *       of evil.example whose name was made to resolve to 127.0.0.1 still sends {@code Host: evil.example}.
 *       403 rather than 421: it is a refusal by policy that no other connection would change, and browsers
 *       retry a 421.</li>
 *   <li>An unsafe method (anything but GET, HEAD, OPTIONS, TRACE) whose {@code Sec-Fetch-Site} is present and not
 *       {@code same-origin} or {@code none} (a user's own action), or whose {@code Origin} is present and names
 *       another host and port than {@code Host}, gets 403. Go's {@code net/http.CrossOriginProtection} compares
 *       the same way: host and port only, so a TLS-terminating proxy in front keeps the page working.</li>
 *   <li>An unsafe method that sends a body or a {@code Content-Type} must send {@code application/json} (or
 *       {@code application/*+json}), else 415: a page may send text, forms and typeless bodies to another origin
 *       without a CORS preflight, so these are refused even from a browser that sends neither header above.</li>
 * </ol>
 * Runs on the request thread, before authentication; keeps no state.
 */
final class BrowserGuard extends OncePerRequestFilter {

    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS", "TRACE");
    private static final Set<String> OWN_SITE = Set.of("same-origin", "none");
    private static final String OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127\\." + OCTET + "\\." + OCTET + "\\." + OCTET);

    private final boolean checkHost;
    private final Set<String> allowedHosts;

    /**
     * @param checkHost whether the Host rule applies (no token is set)
     * @param allowedHosts host names or IP addresses, without port, allowed besides the loopback names
     */
    BrowserGuard(boolean checkHost, Collection<String> allowedHosts) {
        this.checkHost = checkHost;
        this.allowedHosts = allowedHosts.stream().map(host -> host.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String refusal = checkHost ? hostRefusal(request) : null;
        if (refusal == null && !SAFE_METHODS.contains(request.getMethod())) {
            refusal = originRefusal(request);
            if (refusal == null && !jsonOrNoBody(request)) {
                Problems.write(request, response, HttpStatus.UNSUPPORTED_MEDIA_TYPE, "A command's body must be JSON: send it with "
                        + "Content-Type: application/json (or send no body where the command takes none)");
                return;
            }
        }
        if (refusal != null) {
            Problems.write(request, response, HttpStatus.FORBIDDEN, refusal);
            return;
        }
        chain.doFilter(request, response);
    }

    private String hostRefusal(HttpServletRequest request) {
        // The Host header as the client sent it: getServerName() takes X-Forwarded-Host where the container honours
        // forwarded headers (Spring Boot turns that on in Kubernetes), which a rebinding page can send itself.
        // Browsers always send Host; a request without one (HTTP/1.0) is named by the address it came in on.
        String header = request.getHeader(HttpHeaders.HOST);
        String host = header == null ? request.getServerName() : hostName(header);
        if (host != null && (loopback(host) || allowedHosts.contains(host.toLowerCase(Locale.ROOT)))) {
            return null;
        }
        return "Without fleet.admin.token the admin port answers only to localhost, 127.0.0.0/8, [::1] and the names "
                + "in fleet.admin.allowed-hosts, not to Host " + Problems.quote(String.valueOf(host))
                + ": add that name to fleet.admin.allowed-hosts, or set fleet.admin.token";
    }

    /** The host of a {@code Host} header without its port: {@code [::1]:8081} is {@code [::1]}. */
    static String hostName(String header) {
        String host = header.strip();
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            return close < 0 ? host : host.substring(0, close + 1);
        }
        int colon = host.lastIndexOf(':');
        return colon < 0 ? host : host.substring(0, colon);
    }

    private static String originRefusal(HttpServletRequest request) {
        String site = request.getHeader("Sec-Fetch-Site");
        if (site != null && !OWN_SITE.contains(site.toLowerCase(Locale.ROOT))) {
            return "A page of another site cannot change the fleet (Sec-Fetch-Site: " + Problems.quote(site)
                    + "); use the fleet page of this admin port, or a client that is no browser";
        }
        String origin = request.getHeader(HttpHeaders.ORIGIN);
        if (origin != null && !sameHost(origin, request.getHeader(HttpHeaders.HOST))) {
            return "A page of another origin cannot change the fleet (Origin: " + Problems.quote(origin)
                    + "); use the fleet page of this admin port, or a client that is no browser";
        }
        return null;
    }

    private static boolean sameHost(String origin, String host) {
        try {
            String authority = URI.create(origin).getRawAuthority();
            return authority != null && authority.equalsIgnoreCase(host);
        } catch (IllegalArgumentException ex) {
            return false;
        }
    }

    /** Whether the request sends neither a body nor a Content-Type, or declares its body as JSON. */
    private static boolean jsonOrNoBody(HttpServletRequest request) {
        String type = request.getContentType();
        if (!StringUtils.hasText(type)) {
            return !sendsBody(request);
        }
        try {
            MediaType media = MediaType.parseMediaType(type);
            return media.getType().equals("application")
                    && (media.getSubtype().equals("json") || media.getSubtype().endsWith("+json"));
        } catch (InvalidMediaTypeException ex) {
            return false;
        }
    }

    /**
     * Whether the request's framing announces a body: chunked, or a Content-Length other than 0 (as the header says
     * it, or as the container counted it: a MockMvc request has no header).
     */
    static boolean sendsBody(HttpServletRequest request) {
        String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        return request.getHeader(HttpHeaders.TRANSFER_ENCODING) != null
                || StringUtils.hasText(length) && !length.strip().equals("0") || request.getContentLengthLong() > 0;
    }

    /** localhost, 127.0.0.0/8 or a bracketed IPv6 loopback address, without any name resolution. */
    static boolean loopback(String host) {
        String name = host.toLowerCase(Locale.ROOT);
        if (name.equals("localhost") || IPV4_LOOPBACK.matcher(name).matches()) {
            return true;
        }
        if (name.startsWith("[") && name.endsWith("]")) {
            try {
                // Brackets make InetAddress parse a literal or fail: it never asks DNS.
                return InetAddress.getByName(name).isLoopbackAddress();
            } catch (UnknownHostException ex) {
                return false;
            }
        }
        return false;
    }
}
