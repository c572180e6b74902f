package dev.shepherd.admin;

import jakarta.servlet.ServletException;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;

import java.io.IOException;

/**
 * The first valve of the admin port's Tomcat: keeps the connection's own addresses and ports as
 * {@link #ATTRIBUTE}, before anything reads a header in their place (Tomcat's {@code RemoteIpValve}, which
 * {@code server.tomcat.remoteip.*} or a forwarded-headers strategy turns on; Spring's {@code ForwardedHeaderFilter}).
 * {@link SocketOwners} finds a caller's user by them: taken from the request's {@code getRemoteAddr()}, a header
 * named another user's connection (found by attacking helpers, through three settings in turn). On the request
 * thread; keeps no state.
 */
final class SocketPeerValve extends ValveBase {

    /** The request attribute that holds the connection's {@link Peer}. */
    static final String ATTRIBUTE = SocketPeerValve.class.getName() + ".peer";

    /** A connection's two ends as the socket has them. */
    record Peer(String remoteAddress, int remotePort, String localAddress, int localPort) {
    }

    SocketPeerValve() {
        super(true);
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        request.setAttribute(ATTRIBUTE, new Peer(request.getRemoteAddr(), request.getRemotePort(), request.getLocalAddr(),
                request.getLocalPort()));
        getNext().invoke(request, response);
    }
}
