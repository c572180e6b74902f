package dev.shepherd.testsupport;

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
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * A worker that reads requests strictly, as a plain socket server, and answers each with the exact bytes it
 * received (head and body) as a {@code Content-Length} body: a test sees what reached the worker, byte for byte.
 * Each request line is also appended to the file named by {@code RECORD_FILE}, so a test can see every request
 * a worker parsed, smuggled ones included. {@code GET /health} answers "ok" and is not recorded.
 */
@JdkOnly
public final class RecordingWorker {

    private static final int MAX_HEAD = 64 * 1024;

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv("PORT"));
        Path record = Path.of(System.getenv("RECORD_FILE"));
        try (ServerSocket server = new ServerSocket(port, 128, InetAddress.getLoopbackAddress())) {
            System.out.println("recording worker listening on " + port);
            while (true) {
                Socket socket = server.accept();
                Thread connection = new Thread(() -> serve(socket, record), "connection-" + socket.getPort());
                connection.setDaemon(true);
                connection.start();
            }
        }
    }

    private static void serve(Socket socket, Path record) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            ByteArrayOutputStream request;
            while ((request = readRequest(in)) != null) {
                String text = request.toString(StandardCharsets.ISO_8859_1);
                String requestLine = text.substring(0, text.indexOf("\r\n"));
                byte[] body = request.toByteArray();
                if (requestLine.startsWith("GET /health ")) {
                    body = "ok".getBytes(StandardCharsets.US_ASCII);
                } else {
                    synchronized (RecordingWorker.class) {
                        Files.writeString(record, requestLine + "\n", StandardCharsets.ISO_8859_1,
                                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                    }
                }
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            }
        } catch (IOException | RuntimeException ex) {
            // The connection closed or sent something this strict reader refuses: it is closed.
        }
    }

    /** One request, head and body, exactly as received; null when the connection ends between requests. */
    private static ByteArrayOutputStream readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream request = new ByteArrayOutputStream();
        String head = readLineBlock(in, request);
        if (head == null) {
            return null;
        }
        long length = 0;
        boolean chunked = false;
        for (String line : head.split("\r\n")) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(line.substring(15).trim());
            } else if (lower.startsWith("transfer-encoding:")) {
                chunked = lower.substring(18).trim().equals("chunked");
            }
        }
        if (chunked) {
            while (true) {
                String sizeLine = readLine(in, request);
                int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
                if (size == 0) {
                    while (!readLine(in, request).isEmpty()) {
                        // trailer lines
                    }
                    return request;
                }
                copy(in, request, size + 2);
            }
        }
        copy(in, request, length);
        return request;
    }

    private static String readLineBlock(InputStream in, ByteArrayOutputStream request) throws IOException {
        StringBuilder head = new StringBuilder();
        while (true) {
            String line = readLine(in, request);
            if (line == null) {
                return null;
            }
            if (line.isEmpty()) {
                return head.toString();
            }
            head.append(line).append("\r\n");
        }
    }

    private static String readLine(InputStream in, ByteArrayOutputStream request) throws IOException {
        StringBuilder line = new StringBuilder();
        int b;
        while ((b = in.read()) != -1) {
            request.write(b);
            if (b == '\n') {
                return line.toString();
            }
            if (b != '\r') {
                line.append((char) b);
            }
            if (request.size() > MAX_HEAD) {
                throw new IOException("head too large");
            }
        }
        return null;
    }

    private static void copy(InputStream in, ByteArrayOutputStream request, long length) throws IOException {
        for (long i = 0; i < length; i++) {
            int b = in.read();
            if (b == -1) {
                throw new IOException("body cut");
            }
            request.write(b);
        }
    }
}
