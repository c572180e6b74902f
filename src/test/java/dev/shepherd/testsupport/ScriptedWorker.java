package dev.shepherd.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A worker for tests that writes its responses byte for byte, on a plain socket: the framings an HTTP server
 * library would not produce (trailers, a body ended by closing, a malformed head). It never reads a request body:
 * whatever a body holds it takes for the next request (a worker that request smuggling goes through).
 * <ul>
 *   <li>{@code /chunked}: a chunked body "hello world" in three writes, with a trailer {@code X-Sum: 11}</li>
 *   <li>{@code /until-close}: no length and no chunks: the body ends when the worker closes the connection</li>
 *   <li>{@code /malformed}: two different Content-Lengths</li>
 *   <li>{@code /length-twice}: "hello" with its Content-Length on two lines, the second a list: {@code 5} and
 *   {@code 5, 5}</li>
 *   <li>{@code /odd-status}: status {@code 999}, outside 100 to 599, with a body "hello"</li>
 *   <li>{@code /odd-cookies}: malformed {@code Set-Cookie} lines (no name, no value, bad attributes), then
 *   {@code JSESSIONID=kept}</li>
 *   <li>{@code /late-extra}: "hello", then 3 ms later a second whole response nobody asked for, "EVIL" (a worker
 *   bug: a late second write)</li>
 *   <li>{@code /late-extra-on-next}: "hello"; the next request on the connection gets "EVIL" right before its own
 *   answer (the late response of {@code /late-extra}, arriving as the next request comes: the race of every proxy
 *   that reuses connections, made certain)</li>
 *   <li>{@code /bad-chunk}: a chunked body whose first chunk, "hello", is followed by {@code XX} instead of CRLF,
 *   then the close</li>
 *   <li>{@code /slow...}: after 200 ms, "path=..." (a request that decides when its answer comes)</li>
 *   <li>{@code /connection}: "connection=" and the proxy's port of the connection it came on (which connection the
 *   proxy chose)</li>
 *   <li>HEAD anything: {@code Content-Length: 1000} and, as HTTP says, no body</li>
 *   <li>anything else, {@code /health} included: "path=..." with a Content-Length</li>
 * </ul>
 */
@JdkOnly
public final class ScriptedWorker {

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv("PORT"));
        try (ServerSocket server = new ServerSocket(port, 128, InetAddress.getLoopbackAddress())) {
            System.out.println("scripted worker listening on " + port);
            while (true) {
                Socket socket = server.accept();
                Thread connection = new Thread(() -> serve(socket), "connection-" + socket.getPort());
                connection.setDaemon(true);
                connection.start();
            }
        }
    }

    private static void serve(Socket socket) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            String head;
            boolean owesExtra = false;
            while ((head = readHead(in)) != null) {
                String[] requestLine = head.substring(0, head.indexOf('\r')).split(" ");
                if (owesExtra) {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL");
                }
                owesExtra = requestLine[1].equals("/late-extra-on-next");
                if (owesExtra) {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                } else if (requestLine[1].equals("/connection")) {
                    String body = "connection=" + socket.getPort();
                    write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
                } else if (!answer(requestLine[0], requestLine[1], out)) {
                    return;
                }
            }
        } catch (IOException ex) {
            // The proxy closed the connection: nothing to answer.
        }
    }

    /** Writes the response; returns whether the connection stays open. */
    private static boolean answer(String method, String path, OutputStream out) throws IOException {
        if (method.equals("HEAD")) {
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
            return true;
        }
        if (path.startsWith("/slow")) {
            // Slow on purpose, like /late-extra's second write.
            java.util.concurrent.locks.LockSupport.parkNanos(200_000_000);
        }
        switch (path) {
            case "/chunked" -> {
                write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n");
                write(out, "6\r\n world\r\n");
                write(out, "0\r\nX-Sum: 11\r\n\r\n");
                return true;
            }
            case "/until-close" -> {
                write(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstreamed until close");
                return false;
            }
            case "/malformed" -> {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde");
                return false;
            }
            case "/bad-chunk" -> {
                write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX");
                return false;
            }
            case "/length-twice" -> {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\nhello");
                return true;
            }
            case "/odd-status" -> {
                write(out, "HTTP/1.1 999 Odd\r\nContent-Length: 5\r\n\r\nhello");
                return false;
            }
            case "/late-extra" -> {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                // The worker program itself is late on purpose, not test logic waiting.
                java.util.concurrent.locks.LockSupport.parkNanos(3_000_000);
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL");
                return true;
            }
            case "/odd-cookies" -> {
                // Set-Cookie lines no cookie parser likes (no name, no value, only separators), then a good one.
                write(out, "HTTP/1.1 200 OK\r\nSet-Cookie: =y\r\nSet-Cookie: ;;, ;\r\nSet-Cookie: JSESSIONID\r\n"
                        + "Set-Cookie:\r\nSet-Cookie: JSESSIONID=\"quoted\"; Max-Age=x; Expires=never\r\n"
                        + "Set-Cookie: JSESSIONID=kept\r\nContent-Length: 2\r\n\r\nok");
                return true;
            }
            default -> {
                String body = "path=" + path;
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
                return true;
            }
        }
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        int b;
        while ((b = in.read()) != -1) {
            head.write(b);
            matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : b == '\r' ? 1 : 0;
            if (matched == 4) {
                return head.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }
}
