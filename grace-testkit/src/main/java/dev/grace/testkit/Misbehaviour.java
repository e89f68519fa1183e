package dev.grace.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.CountDownLatch;

/**
 * The ways a peer ends a connection that the code under test must survive, each played on a
 * real loopback socket: by a server ({@link PeerServer#start}) or by a client
 * ({@link Peer#play}). A closed vocabulary, like MockWebServer's {@code SocketPolicy}: a test
 * names the behaviour, never writes the socket calls.
 *
 * <p>Every behaviour opens the same way. A server with something to answer first reads one chunk
 * (the request, or the start of it) and then writes its answer; a client writes its request.
 * What follows is the behaviour's own. A peer that holds the connection open keeps it until its
 * {@link PeerServer} or {@link Peer} is closed, and then resets it, so it never sends a FIN and
 * leaves no TIME_WAIT. Played on the thread that calls it.
 */
public enum Misbehaviour {
    /** Writes the first half of its bytes, then resets (SO_LINGER 0, close): RST in the middle of the stream. */
    RESETS_MID_STREAM,
    /** Writes its bytes, then never reads again and holds the connection open: the other side's writes back up. */
    STOPS_READING,
    /** Writes its bytes, reads to the other side's FIN (or reset), and holds the connection open: no FIN, ever. */
    NEVER_SENDS_FIN,
    /** Writes its bytes, half-closes (FIN), and reads on to the other side's FIN: legal, and often mishandled. */
    HALF_CLOSES_AND_KEEPS_READING,
    /** Writes all its bytes, then resets (SO_LINGER 0, close) at once. */
    ANSWERS_THEN_RESETS,
    /**
     * Writes its bytes, then a plain {@code close()} while input is still unread: the kernel's RST
     * (RFC 9293 §3.6.1), the commonest way a response is destroyed. From {@code java.net.Socket}
     * a FIN goes first and the RST a fraction of a millisecond later: a reader sees the answer
     * and EOF, a writer the reset.
     */
    CLOSES_WITH_INPUT_UNREAD;

    private static final int FIRST_CHUNK_BYTES = 1024;

    /**
     * Plays this behaviour on {@code socket}. {@code answering}: the peer is the server and reads
     * a first chunk before writing {@code bytes}. {@code released} ends a hold; when null, a
     * holding behaviour returns as its hold begins and the caller resets the socket later.
     */
    Session play(Socket socket, boolean answering, byte[] bytes, CountDownLatch released) throws IOException, InterruptedException {
        Reading reading = new Reading(socket);
        String sendFailure = null;
        try {
            if (answering && bytes.length > 0) {
                reading.firstChunk();
            }
            socket.getOutputStream().write(bytes, 0, this == RESETS_MID_STREAM ? bytes.length / 2 : bytes.length);
            socket.getOutputStream().flush();
        } catch (IOException e) {
            sendFailure = e.getMessage();
        }
        switch (this) {
            case RESETS_MID_STREAM, ANSWERS_THEN_RESETS -> reset(socket);
            case STOPS_READING -> hold(socket, released);
            case NEVER_SENDS_FIN -> {
                reading.toEnd();
                hold(socket, released);
            }
            case HALF_CLOSES_AND_KEEPS_READING -> {
                if (sendFailure == null) {
                    try {
                        socket.shutdownOutput();
                    } catch (IOException e) {
                        sendFailure = e.getMessage();
                    }
                }
                reading.toEnd();
                socket.close();
            }
            case CLOSES_WITH_INPUT_UNREAD -> socket.close();
        }
        return new Session(reading.result(), sendFailure, System.nanoTime());
    }

    /** Whether this behaviour ends holding the connection open. */
    boolean holds() {
        return this == STOPS_READING || this == NEVER_SENDS_FIN;
    }

    /** Waits for {@code released}, then resets; with no latch, returns at once and leaves the reset to the socket's owner. */
    private static void hold(Socket socket, CountDownLatch released) throws IOException, InterruptedException {
        if (released != null) {
            released.await();
            reset(socket);
        }
    }

    static void reset(Socket socket) throws IOException {
        if (!socket.isClosed()) {
            socket.setSoLinger(true, 0);
            socket.close();
        }
    }

    /**
     * What a peer saw while it played its part.
     *
     * @param received        everything it read, and how its reading ended ({@code STOPPED_READING}
     *                        when the behaviour stopped before the other side's end)
     * @param sendFailure     the message of the failure that cut its own writing short, or null
     * @param finishedAtNanos {@link System#nanoTime()} when it had done its last step (sent its RST, say)
     */
    public record Session(Peer.ReadResult received, String sendFailure, long finishedAtNanos) {}

    /** The reads of one session, counted whatever way they end. */
    private static final class Reading {
        private final Socket socket;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private Peer.ReadResult.End end = Peer.ReadResult.End.STOPPED_READING;
        private String error;

        Reading(Socket socket) {
            this.socket = socket;
        }

        void firstChunk() throws IOException {
            byte[] buffer = new byte[FIRST_CHUNK_BYTES];
            int n = socket.getInputStream().read(buffer);
            if (n > 0) {
                received.write(buffer, 0, n);
            } else if (n < 0) {
                end = Peer.ReadResult.End.FIN;
            }
        }

        void toEnd() {
            if (end != Peer.ReadResult.End.STOPPED_READING) {
                return;
            }
            byte[] buffer = new byte[64 * 1024];
            try {
                InputStream in = socket.getInputStream();
                for (int n; (n = in.read(buffer)) != -1; ) {
                    received.write(buffer, 0, n);
                }
                end = Peer.ReadResult.End.FIN;
            } catch (SocketTimeoutException e) {
                end = Peer.ReadResult.End.TIMEOUT;
                error = e.getMessage();
            } catch (SocketException e) {
                end = Peer.ReadResult.End.RESET;
                error = e.getMessage();
            } catch (IOException e) {
                end = Peer.ReadResult.End.ERROR;
                error = e.toString();
            }
        }

        Peer.ReadResult result() {
            return new Peer.ReadResult(received.toByteArray(), end, error);
        }
    }
}
