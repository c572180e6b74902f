package dev.shepherd.proxy;

import dev.shepherd.testsupport.JdkOnly;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A worker for tests, run as its own process, that writes its responses byte for byte on a plain socket and ends
 * them the wrong way on request: cut short, reset, stalled, late, or preceded by interim responses. Requests have
 * no body. Every body byte is {@code 'x'}.
 * <ul>
 *   <li>{@code /cut?framing=close|fixed|chunked&bytes=N&end=fin|reset}: a body framed by the close, by a
 *       {@code Content-Length} of N + 100, or chunked (one chunk of N bytes and no last chunk), N bytes of it, then
 *       the connection closed cleanly (FIN) or reset (SO_LINGER 0); {@code framing=close&end=fin} is a whole
 *       response</li>
 *   <li>{@code /slow?framing=fixed|chunked&head=MS&gaps=MS,MS,...}: the head after MS ms, then one body part of
 *       five bytes after each gap (a fixed length of five bytes per gap); with no gaps, the head then nothing until
 *       the proxy closes the connection</li>
 *   <li>{@code /big?bytes=N}: a body of N bytes with a Content-Length, written at once</li>
 *   <li>{@code /whole?bytes=N}: the same, head and body in one write (one segment, one read for the proxy)</li>
 *   <li>{@code /reset-after-head}: the connection reset as soon as the request head is read, with no answer (and
 *       whatever body the request has unread)</li>
 *   <li>{@code /early-reset}: {@code 413} with {@code Connection: close} as soon as the head is read, then the
 *       connection closed with the request's body unread (the kernel resets it)</li>
 *   <li>{@code /close-unannounced?after=MS}: "ok" with nothing saying the connection ends, then MS ms later the
 *       connection closed, whatever came meanwhile unread (the JDK's HttpServer past its idle connections)</li>
 *   <li>{@code /interim}: {@code 100 Continue}, then {@code 103 Early Hints}, then {@code 200} "ok"</li>
 *   <li>{@code /interim-storm}: {@code 103 Early Hints} 100,000 times in a few writes, then {@code 200} "ok"</li>
 *   <li>{@code /health}: "ok"; with the environment variable {@code READY_FILE}, 503 until that file exists</li>
 *   <li>anything else: "ok"</li>
 * </ul>
 */
@JdkOnly
public final class FaultyWorker {

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv("PORT"));
        try (ServerSocket server = new ServerSocket(port, 128, InetAddress.getLoopbackAddress())) {
            System.out.println("faulty worker listening on " + port);
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
            String head;
            while ((head = readHead(in)) != null) {
                String target = head.substring(0, head.indexOf('\r')).split(" ")[1];
                if (!answer(target, socket)) {
                    return;
                }
            }
        } catch (IOException ex) {
            // The proxy closed the connection: nothing more to answer.
        }
    }

    /** Writes the response; returns whether the connection stays open for another request. */
    private static boolean answer(String target, Socket socket) throws IOException {
        OutputStream out = socket.getOutputStream();
        int query = target.indexOf('?');
        String path = query < 0 ? target : target.substring(0, query);
        Map<String, String> params = params(query < 0 ? "" : target.substring(query + 1));
        switch (path) {
            case "/cut" -> {
                cut(socket, params);
                return false;
            }
            case "/slow" -> {
                return slow(socket, params);
            }
            case "/reset-after-head" -> {
                socket.setSoLinger(true, 0);
                return false;
            }
            case "/big" -> {
                int bytes = Integer.parseInt(params.get("bytes"));
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + bytes + "\r\n\r\n");
                out.write(body(bytes));
                return true;
            }
            case "/whole" -> {
                int bytes = Integer.parseInt(params.get("bytes"));
                byte[] head = ("HTTP/1.1 200 OK\r\nContent-Length: " + bytes + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
                byte[] whole = new byte[head.length + bytes];
                System.arraycopy(head, 0, whole, 0, head.length);
                System.arraycopy(body(bytes), 0, whole, head.length, bytes);
                out.write(whole);
                return true;
            }
            case "/health" -> {
                String readyFile = System.getenv("READY_FILE");
                boolean ready = readyFile == null || Files.exists(Path.of(readyFile));
                write(out, ready ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                        : "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
                return true;
            }
            case "/early" -> {
                // Answers an upload before reading it, then closes as RFC 9112 §9.6 asks: its side first, then
                // what the client still sends is read and dropped for up to 2 s.
                write(out, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n");
                out.flush();
                socket.shutdownOutput();
                socket.setSoTimeout(2_000);
                try {
                    socket.getInputStream().transferTo(OutputStream.nullOutputStream());
                } catch (IOException timedOut) {
                    // closed below
                }
                return false;
            }
            case "/early-reset" -> {
                // Answers an upload before reading it and closes at once, as many servers do: the body the proxy
                // still sends finds a closed socket, and the worker's kernel answers it with a reset.
                write(out, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n");
                out.flush();
                return false;
            }
            case "/close-unannounced" -> {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                out.flush();
                pause(Long.parseLong(params.getOrDefault("after", "0")));
                return false;
            }
            case "/interim" -> {
                write(out, "HTTP/1.1 100 Continue\r\n\r\n");
                write(out, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                return true;
            }
            case "/interim-storm" -> {
                String hints = "HTTP/1.1 103 Early Hints\r\n\r\n".repeat(10_000);
                try {
                    for (int i = 0; i < 10; i++) {
                        write(out, hints);
                    }
                    write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                } catch (IOException closed) {
                    // the proxy gave up on it
                }
                return false;
            }
            default -> {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                return true;
            }
        }
    }

    private static void cut(Socket socket, Map<String, String> params) throws IOException {
        int bytes = Integer.parseInt(params.get("bytes"));
        OutputStream out = socket.getOutputStream();
        switch (params.get("framing")) {
            case "close" -> write(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            case "fixed" -> write(out, "HTTP/1.1 200 OK\r\nContent-Length: " + (bytes + 100) + "\r\n\r\n");
            default -> write(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(bytes) + "\r\n");
        }
        out.write(body(bytes));
        if (params.get("framing").equals("chunked")) {
            write(out, "\r\n");
        }
        out.flush();
        if (params.get("end").equals("reset")) {
            socket.setSoLinger(true, 0);
        }
        socket.close();
    }

    private static boolean slow(Socket socket, Map<String, String> params) throws IOException {
        OutputStream out = socket.getOutputStream();
        boolean chunked = params.getOrDefault("framing", "fixed").equals("chunked");
        String[] gaps = params.getOrDefault("gaps", "").isEmpty() ? new String[0] : params.get("gaps").split(",");
        pause(Long.parseLong(params.getOrDefault("head", "0")));
        write(out, "HTTP/1.1 200 OK\r\n" + (chunked ? "Transfer-Encoding: chunked" : "Content-Length: " + 5 * gaps.length)
                + "\r\n\r\n");
        if (gaps.length == 0) {
            // Stalled: hold the connection until the proxy gives up on it.
            socket.getInputStream().transferTo(OutputStream.nullOutputStream());
            return false;
        }
        for (String gap : gaps) {
            pause(Long.parseLong(gap));
            write(out, chunked ? "5\r\nhello\r\n" : "hello");
        }
        if (chunked) {
            write(out, "0\r\n\r\n");
        }
        return true;
    }

    private static byte[] body(int bytes) {
        byte[] body = new byte[bytes];
        java.util.Arrays.fill(body, (byte) 'x');
        return body;
    }

    private static void pause(long millis) {
        try {
            // A deliberately slow worker: the test program itself, not test logic, waits here.
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static Map<String, String> params(String query) {
        Map<String, String> params = new HashMap<>();
        for (String pair : query.split("&")) {
            int equals = pair.indexOf('=');
            if (equals > 0) {
                params.put(pair.substring(0, equals), pair.substring(equals + 1));
            }
        }
        return params;
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
