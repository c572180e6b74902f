package dev.shepherd.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Sends bytes exactly as written, for requests an HTTP client library would refuse to send. */
public final class RawHttp {

    private RawHttp() {
    }

    /** Sends {@code request} and returns everything the server sends until it closes (or 10 s pass). */
    public static String exchange(int port, String request) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return readUntilClose(socket.getInputStream());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    public static String readUntilClose(InputStream in) throws IOException {
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            int read;
            while ((read = in.read(buffer)) != -1) {
                received.write(buffer, 0, read);
            }
        } catch (SocketTimeoutException | java.net.SocketException ex) {
            // What arrived before the timeout or reset is the answer.
        }
        return received.toString(StandardCharsets.ISO_8859_1);
    }

    /** A response head, up to and with its blank line (or what came before the stream ended), as ISO-8859-1. */
    public static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int next = in.read();
            if (next < 0) {
                break;
            }
            head.write(next);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /** One response from a kept-alive connection: its head and a body framed by {@code Content-Length}, if any. */
    public static String readResponse(InputStream in) throws IOException {
        String head = readHead(in);
        String length = header(head, "Content-Length");
        return length == null ? head
                : head + new String(in.readNBytes(Integer.parseInt(length)), StandardCharsets.ISO_8859_1);
    }

    /** Closes every socket, whatever fails, and empties the list. */
    public static void closeAll(List<Socket> sockets) {
        for (Socket socket : sockets) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        sockets.clear();
    }

    /** The value of the first field named {@code name} (any case) in the response's head, or null. */
    public static String header(String response, String name) {
        int end = response.indexOf("\r\n\r\n");
        for (String line : response.substring(0, end < 0 ? response.length() : end).split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
                return line.substring(colon + 1).strip();
            }
        }
        return null;
    }

    public static int status(String response) {
        return response.length() < 12 ? -1 : Integer.parseInt(response.substring(9, 12));
    }
}
