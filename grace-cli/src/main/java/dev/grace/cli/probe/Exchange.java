package dev.grace.cli.probe;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * One probe connection: a plain blocking socket, read to its end with every read bounded.
 * Tells apart a FIN, an RST, and the FIN that an RST follows within milliseconds (a server's
 * {@code shutdown(SHUT_WR)} then {@code close()} with unread input): a plain read sees only the
 * FIN, and Linux keeps answering EOF after it, so once EOF is read we wait a little and write
 * one line break (which servers ignore between requests): it fails only if an RST came.
 */
final class Exchange implements AutoCloseable {
    static final long RST_AFTER_FIN_WAIT_MILLIS = 250;
    private static final int READ_SLICE_MILLIS = 50;
    private static final int KEPT_BYTES = 64 * 1024;

    /** How the server ended, as far as this connection saw. */
    enum End { FIN, RST, FIN_THEN_RST, OPEN }

    /** What a read to the end saw. */
    record Seen(long bytes, String firstLine, End end, long ms) {
        String describe() {
            String ending = switch (end) {
                case FIN -> "then FIN";
                case RST -> "then RST";
                case FIN_THEN_RST -> "then FIN, then RST";
                case OPEN -> "and the connection stayed open";
            };
            return bytes + " bytes" + (firstLine.isEmpty() ? "" : " (\"" + firstLine + "\")") + " " + ending;
        }
    }

    private final Socket socket;
    private final long startNanos = System.nanoTime();
    private boolean outputShut;

    private Exchange(Socket socket) {
        this.socket = socket;
    }

    static Exchange open(InetSocketAddress target, int timeoutMillis) throws IOException {
        Socket socket = new Socket();
        try {
            // Options first: a server may reset the connection the moment it accepts it.
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(READ_SLICE_MILLIS);
            socket.connect(target, timeoutMillis);
            return new Exchange(socket);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    void send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    void halfClose() throws IOException {
        socket.shutdownOutput();
        outputShut = true;
    }

    /** SO_LINGER 0 and close: RST. */
    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    /**
     * Reads until FIN, RST, {@code maxMillis}, or — when {@code quietMillis} &gt; 0 and some bytes
     * came — {@code quietMillis} without a byte (the response is complete, the connection open).
     * Reads at most {@code limitBytes} (then stops, {@link End#OPEN}).
     */
    Seen readToEnd(long quietMillis, long maxMillis, long limitBytes) throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        byte[] buffer = new byte[16 * 1024];
        long bytes = 0;
        long deadline = System.nanoTime() + maxMillis * 1_000_000;
        long lastByteNanos = System.nanoTime();
        while (true) {
            int n;
            try {
                n = in.read(buffer);
            } catch (SocketTimeoutException quiet) {
                long now = System.nanoTime();
                if (now >= deadline || (quietMillis > 0 && bytes > 0 && now - lastByteNanos >= quietMillis * 1_000_000)) {
                    return seen(bytes, kept, End.OPEN);
                }
                continue;
            } catch (SocketException reset) {
                return seen(bytes, kept, End.RST);
            }
            if (n < 0) {
                return seen(bytes, kept, resetFollowedFin() ? End.FIN_THEN_RST : End.FIN);
            }
            bytes += n;
            lastByteNanos = System.nanoTime();
            if (kept.size() < KEPT_BYTES) {
                kept.write(buffer, 0, Math.min(n, KEPT_BYTES - kept.size()));
            }
            if (bytes >= limitBytes) {
                return seen(bytes, kept, End.OPEN);
            }
        }
    }

    private boolean resetFollowedFin() {
        if (outputShut) {
            return false; // nothing to write with; see the check's wording
        }
        try {
            Thread.sleep(RST_AFTER_FIN_WAIT_MILLIS);
            socket.getOutputStream().write(new byte[] {'\r', '\n'});
            socket.getOutputStream().flush();
            return false;
        } catch (IOException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private Seen seen(long bytes, ByteArrayOutputStream kept, End end) {
        return new Seen(bytes, firstLine(kept.toByteArray()), end, (System.nanoTime() - startNanos) / 1_000_000);
    }

    static String firstLine(byte[] bytes) {
        String text = new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.ISO_8859_1);
        int end = text.indexOf('\n');
        String line = (end >= 0 ? text.substring(0, end) : text).strip();
        StringBuilder printable = new StringBuilder();
        for (char c : line.toCharArray()) {
            printable.append(c >= 0x20 && c < 0x7f && c != '"' ? c : '.');
        }
        return printable.length() > 60 ? printable.substring(0, 60) + "..." : printable.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
