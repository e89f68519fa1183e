package dev.grace.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A plain {@link ServerSocket} on a free loopback port whose every connection is served by one
 * {@link Misbehaviour}, or, for the one-off server a single test needs, by a {@link Script}.
 * One thread accepts, one thread serves each connection; what each connection's peer saw is
 * kept for {@link #nextSession()}. {@link #close()} closes the listener and every connection
 * (resetting those still held open) and waits for the threads.
 */
public final class PeerServer implements AutoCloseable {
    /** How a test's own server serves one connection; the socket is closed after it returns. */
    @FunctionalInterface
    public interface Script {
        void serve(Socket socket, PeerServer server) throws Exception;
    }

    private static final int DEFAULT_BACKLOG = 200;
    /** Every read of an accepted socket gives up after this long, unless its script says otherwise. */
    public static final int READ_TIMEOUT_MILLIS = 15_000;
    private static final Throwable SERVED = new Throwable("served");

    private final ServerSocket listener;
    private final ExecutorService threads = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "peer-server");
        thread.setDaemon(true);
        return thread;
    });
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final BlockingQueue<Misbehaviour.Session> sessions = new LinkedBlockingQueue<>();
    private final BlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
    /** One entry per connection whose serving ended: its failure, or {@link #SERVED}. */
    private final BlockingQueue<Throwable> ended = new LinkedBlockingQueue<>();
    private final CountDownLatch released = new CountDownLatch(1);

    private PeerServer(int backlog, long acceptPauseMillis, Script script) throws IOException {
        listener = new ServerSocket(0, backlog, InetAddress.getLoopbackAddress());
        threads.execute(() -> accept(acceptPauseMillis, script));
    }

    /** Every connection answered with {@code answer}, then ended the {@code misbehaviour} way. */
    public static PeerServer start(Misbehaviour misbehaviour, byte[] answer) throws IOException {
        return new PeerServer(DEFAULT_BACKLOG, 0, (socket, server) ->
                server.sessions.add(misbehaviour.play(socket, true, answer, server.released)));
    }

    public static PeerServer start(Misbehaviour misbehaviour, String answer) throws IOException {
        return start(misbehaviour, answer.getBytes(StandardCharsets.UTF_8));
    }

    /** The same, with a listen backlog of {@code backlog} and a pause before each accept (the server's own pace). */
    public static PeerServer start(int backlog, long acceptPauseMillis, Misbehaviour misbehaviour, String answer) throws IOException {
        byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
        return new PeerServer(backlog, acceptPauseMillis, (socket, server) ->
                server.sessions.add(misbehaviour.play(socket, true, bytes, server.released)));
    }

    /** Every connection served by {@code script}. */
    public static PeerServer scripted(Script script) throws IOException {
        return new PeerServer(DEFAULT_BACKLOG, 0, script);
    }

    /** A listen backlog of {@code backlog}, and a pause before each accept (the server's own pace). */
    public static PeerServer scripted(int backlog, long acceptPauseMillis, Script script) throws IOException {
        return new PeerServer(backlog, acceptPauseMillis, script);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Closes the listener: later connects are refused; connections already accepted go on. */
    public void stopListening() throws IOException {
        listener.close();
    }

    /** What the next connection's peer saw, once its behaviour finished (waits up to 15 s). */
    public Misbehaviour.Session nextSession() throws InterruptedException {
        Misbehaviour.Session session = sessions.poll(15, TimeUnit.SECONDS);
        if (session == null) {
            throw new AssertionError("no session ended within 15 s; failures " + failures);
        }
        return session;
    }

    /**
     * Waits (up to {@code seconds}) until the next connection was served to its end, and fails
     * with what its script threw or the assertion it failed, if anything.
     */
    public void awaitServed(long seconds) throws InterruptedException {
        Throwable outcome = ended.poll(seconds, TimeUnit.SECONDS);
        if (outcome == null) {
            throw new AssertionError("no connection served to its end within " + seconds + " s");
        }
        if (outcome != SERVED) {
            throw new AssertionError("serving a connection failed: " + outcome, outcome);
        }
    }

    private void accept(long acceptPauseMillis, Script script) {
        while (!listener.isClosed()) {
            Socket socket;
            try {
                if (acceptPauseMillis > 0) {
                    Thread.sleep(acceptPauseMillis);
                }
                socket = listener.accept();
            } catch (IOException | InterruptedException closed) {
                return;
            }
            open.add(socket);
            threads.execute(() -> {
                try (socket) {
                    socket.setSoTimeout(READ_TIMEOUT_MILLIS);
                    script.serve(socket, this);
                    ended.add(SERVED);
                } catch (Exception | AssertionError e) {
                    // The peer on the other side resets on purpose often enough; the test asks if it cares.
                    failures.add(e);
                    ended.add(e);
                } finally {
                    open.remove(socket);
                }
            });
        }
    }

    @Override
    public void close() throws Exception {
        listener.close();
        released.countDown();
        for (Socket socket : open) {
            try {
                Misbehaviour.reset(socket);
            } catch (IOException alreadyClosed) {
                // Its own thread closed it meanwhile.
            }
        }
        threads.shutdownNow();
        if (!threads.awaitTermination(10, TimeUnit.SECONDS)) {
            throw new AssertionError("peer server threads still running 10 s after close");
        }
    }
}
