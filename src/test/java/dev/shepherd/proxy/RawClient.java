package dev.shepherd.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A client on a plain socket that reports how the proxy ended the connection, not only what it sent: a cut
 * response must end with the connection closed (FIN) or reset, never left open as if the message were whole.
 */
final class RawClient {

    /** How the connection ended: closed by the proxy, reset by it, or still open when the client gave up. */
    enum End { FIN, RESET, OPEN }

    record Received(String bytes, End end) {

        String head() {
            return bytes.substring(0, bytes.indexOf("\r\n\r\n") + 4);
        }

        String body() {
            return bytes.substring(bytes.indexOf("\r\n\r\n") + 4);
        }
    }

    private RawClient() {
    }

    /** Sends {@code request} and reads until the proxy closes or resets the connection, or {@code waitMillis} pass. */
    static Received exchange(int port, String request, int waitMillis) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(waitMillis);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            return read(socket.getInputStream());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    static Received read(InputStream in) throws IOException {
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        End end;
        try {
            int read;
            while ((read = in.read(buffer)) != -1) {
                received.write(buffer, 0, read);
            }
            end = End.FIN;
        } catch (SocketTimeoutException ex) {
            end = End.OPEN;
        } catch (SocketException ex) {
            if (!ex.getMessage().contains("reset")) {
                throw ex;
            }
            end = End.RESET;
        }
        return new Received(received.toString(StandardCharsets.ISO_8859_1), end);
    }

    /** A chunked body read: the data of its complete chunks, and what follows the last of them. */
    record Dechunked(String data, String rest) {
    }

    /** Reads chunk framing: a whole body leaves {@code "0\r\n\r\n"} as the rest, a cut one leaves nothing. */
    static Dechunked dechunk(String body) {
        StringBuilder data = new StringBuilder();
        String rest = body;
        int lineEnd;
        while ((lineEnd = rest.indexOf("\r\n")) > 0) {
            int size = Integer.parseInt(rest.substring(0, lineEnd), 16);
            int start = lineEnd + 2;
            if (size == 0 || rest.length() < start + size + 2) {
                break;
            }
            data.append(rest, start, start + size);
            if (!rest.startsWith("\r\n", start + size)) {
                throw new IllegalStateException("chunk data not followed by CRLF: " + rest.substring(start + size));
            }
            rest = rest.substring(start + size + 2);
        }
        return new Dechunked(data.toString(), rest);
    }
}
