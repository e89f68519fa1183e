package dev.grace.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** An HTTP/1.1 client on a plain socket, so a test sees exactly what went over the wire and how it ended. */
final class RawHttp implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;

    record Response(int status, Map<String, String> headers, String body) {
        boolean saysClose() {
            return "close".equalsIgnoreCase(headers.get("connection"));
        }
    }

    /** How the server ended the connection once its last response was read. */
    enum End { FIN, RESET, STILL_OPEN }

    RawHttp(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 5_000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
    }

    static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    }

    void send(String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    Response exchange(String path) throws IOException {
        send(get(path));
        return read();
    }

    /** A response's status line and headers, its body still unread. */
    record Head(int status, Map<String, String> headers) {}

    /** One response with a Content-Length body. */
    Response read() throws IOException {
        return readBody(readHead());
    }

    Head readHead() throws IOException {
        String statusLine = line();
        if (statusLine == null) {
            throw new IOException("EOF before a response");
        }
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line; !(line = line()).isEmpty(); ) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        return new Head(status, headers);
    }

    Response readBody(Head head) throws IOException {
        int length = Integer.parseInt(head.headers().getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        if (body.length < length) {
            throw new IOException("truncated body: " + body.length + " of " + length + " bytes");
        }
        return new Response(head.status(), head.headers(), new String(body, StandardCharsets.UTF_8));
    }

    /** Reads on until the server's FIN or RST; bytes found on the way are a failure. */
    End awaitEnd() throws IOException {
        try {
            int next = in.read();
            if (next != -1) {
                throw new AssertionError("more bytes where the end was expected: " + (char) next);
            }
            return End.FIN;
        } catch (java.net.SocketTimeoutException e) {
            return End.STILL_OPEN;
        } catch (SocketException e) {
            return End.RESET;
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != -1; ) {
            if (b == '\n') {
                String text = line.toString(StandardCharsets.ISO_8859_1);
                return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
            }
            line.write(b);
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }

    void soTimeout(int millis) throws SocketException {
        socket.setSoTimeout(millis);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
