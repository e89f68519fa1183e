package dev.grace.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * The other end of a connection under test: a plain blocking {@link java.net.Socket}, so Netty
 * is never the only witness of what Netty did. Every read has a timeout; nothing here sleeps.
 */
public final class Peer implements AutoCloseable {
    public static final int READ_TIMEOUT_MILLIS = 10_000;

    private final Socket socket;
    private long bytesRead;
    private boolean holding;

    private Peer(Socket socket) {
        this.socket = socket;
    }

    public static Peer connect(InetSocketAddress address) throws IOException {
        return connect(address, 0);
    }

    /** Connects with a receive buffer of {@code receiveBufferBytes} (0: the kernel's default), set before the handshake so the window stays small. */
    public static Peer connect(InetSocketAddress address, int receiveBufferBytes) throws IOException {
        Socket socket = new Socket();
        try {
            if (receiveBufferBytes > 0) {
                socket.setReceiveBufferSize(receiveBufferBytes);
            }
            // Options first: a server may reset the connection the moment it is accepted.
            socket.setSoTimeout(READ_TIMEOUT_MILLIS);
            socket.setTcpNoDelay(true);
            // A plain blocking connect returns once the handshake completes; with a timeout the JDK
            // polls and then asks SO_ERROR, which reports a reset that came right after the accept
            // as a failed connect. Loopback connects never hang.
            socket.connect(address);
            return new Peer(socket);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    public Socket socket() {
        return socket;
    }

    public int localPort() {
        return socket.getLocalPort();
    }

    public void send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    public void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    /** SHUT_WR: our FIN; we keep reading. */
    public void halfClose() throws IOException {
        socket.shutdownOutput();
    }

    /** SO_LINGER 0 then close: RST. */
    public void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    /**
     * After the other side's FIN, reads keep answering EOF even once an RST followed: only a
     * write shows the reset. Writes one byte at a time until a write fails (the RST has
     * arrived), for at most {@code READ_TIMEOUT_MILLIS}, and returns that failure's message,
     * or null if every write went through. (On NIO a closed channel's RST leaves only when its
     * selector next runs, so "the report arrived" does not yet mean "the RST arrived".)
     */
    public String awaitResetOnWrite() throws InterruptedException {
        long deadline = System.nanoTime() + READ_TIMEOUT_MILLIS * 1_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                socket.getOutputStream().write('\n');
                socket.getOutputStream().flush();
            } catch (IOException reset) {
                return reset.getMessage();
            }
            Thread.sleep(5);
        }
        return null;
    }

    /** Reads exactly {@code n} bytes, or fewer if the stream ends first. */
    public byte[] readExactly(int n) throws IOException {
        byte[] bytes = socket.getInputStream().readNBytes(n);
        bytesRead += bytes.length;
        return bytes;
    }

    /** Reads until FIN, reset or timeout, and says which it was. */
    public ReadResult readToEnd() {
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        byte[] buffer = new byte[64 * 1024];
        try {
            InputStream in = socket.getInputStream();
            for (int n; (n = in.read(buffer)) != -1; ) {
                received.write(buffer, 0, n);
            }
            bytesRead += received.size();
            return new ReadResult(received.toByteArray(), ReadResult.End.FIN, null);
        } catch (SocketTimeoutException e) {
            return new ReadResult(received.toByteArray(), ReadResult.End.TIMEOUT, e.getMessage());
        } catch (SocketException e) {
            return new ReadResult(received.toByteArray(), ReadResult.End.RESET, e.getMessage());
        } catch (IOException e) {
            return new ReadResult(received.toByteArray(), ReadResult.End.ERROR, e.toString());
        }
    }

    /**
     * Plays {@code misbehaviour} as the client, {@code request} being what it writes. A
     * behaviour that holds the connection open returns as its hold begins; {@link #close()}
     * then resets the connection.
     */
    public Misbehaviour.Session play(Misbehaviour misbehaviour, byte[] request) throws IOException, InterruptedException {
        holding = misbehaviour.holds();
        Misbehaviour.Session session = misbehaviour.play(socket, false, request, null);
        bytesRead += session.received().bytes().length;
        return session;
    }

    public long bytesRead() {
        return bytesRead;
    }

    /** Closes the socket; after a holding {@link Misbehaviour}, with a reset. */
    @Override
    public void close() throws IOException {
        if (holding) {
            Misbehaviour.reset(socket);
        }
        socket.close();
    }

    /**
     * How a read loop ended.
     *
     * @param bytes everything read
     * @param end   FIN (read returned -1), RESET ("Connection reset"), TIMEOUT, ERROR, or
     *              STOPPED_READING (a {@link Misbehaviour} that stopped before the end)
     * @param error the exception message, or null
     */
    public record ReadResult(byte[] bytes, End end, String error) {
        public enum End { FIN, RESET, TIMEOUT, ERROR, STOPPED_READING }

        public String text() {
            return new String(bytes, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return end + " after " + bytes.length + " bytes" + (error == null ? "" : " (" + error + ")");
        }
    }
}
