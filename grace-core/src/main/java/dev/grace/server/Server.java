package dev.grace.server;

import dev.grace.Connection;
import dev.grace.ConnectionOptions;
import dev.grace.Grace;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP server whose stop is a drain (see {@link #stop()}). Thread-safe; each connection lives
 * on one event loop of the server's group, and the listener on one of them too: a loop of its
 * own would hand every accepted connection to another thread, two context switches per
 * connection on a busy core. The drain runs on a thread of its own.
 */
public final class Server implements AutoCloseable {
    private static final long SENTINEL_TIMEOUT_MILLIS = 300;

    private final ServerOptions options;
    private final Protocol protocol;
    private final ServerListener listener;
    private final EventLoopGroup group;
    private final ConnectionOptions connectionOptions;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Set<Connection> adopted = ConcurrentHashMap.newKeySet();
    private final AtomicInteger acceptedNotInitialized = new AtomicInteger();
    private final BacklogSentinel backlogSentinel = new BacklogSentinel(acceptedNotInitialized);
    private final CompletableFuture<Void> listenerClosed = new CompletableFuture<>();
    private final Channel listenerChannel;
    private final InetSocketAddress localAddress;
    private volatile boolean ready;
    private final Drain drain;
    private boolean stopRequested;
    private final CompletableFuture<Void> stopStarted = new CompletableFuture<>();
    private final java.util.concurrent.atomic.AtomicBoolean listenerClosing = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean gateSupported;
    private volatile boolean sharedListener;
    private volatile HandshakeGate handshakeGate;

    private Server(ServerOptions options, Protocol protocol, ServerListener listener) throws IOException {
        this.options = options;
        this.protocol = protocol;
        this.listener = listener;
        this.connectionOptions = protocol.connectionOptions(options.connection());
        this.group = options.transport().newEventLoopGroup(options.ioThreads(), "grace-" + options.transport());
        // Before the bind: a connection may be accepted the moment the listener exists.
        this.drain = new Drain(options, new DrainTarget());
        protocol.serverStarting(this);
        ServerBootstrap bootstrap = new ServerBootstrap().group(group, group);
        int inherited = options.inheritedListener();
        if (inherited >= 0) {
            // Already bound and listening (systemd socket activation): Netty's channel on that fd is active at once.
            bootstrap.channelFactory(() -> new io.netty.channel.epoll.EpollServerSocketChannel(inherited));
        } else {
            bootstrap.channel(options.transport().serverChannelClass());
        }
        bootstrap
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(backlogSentinel)
                // TCP_NODELAY is Netty's default: setting it again is one more setsockopt per connection.
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        connectionAccepted(channel);
                    }
                });
        ChannelFuture bind = (inherited >= 0 ? bootstrap.register() : bootstrap.bind(options.bindHost(), options.port()))
                .awaitUninterruptibly();
        if (bind.isSuccess() && !bind.channel().isActive()) {
            bind.channel().close().awaitUninterruptibly();
            bind = bind.channel().newFailedFuture(new IOException("fd " + inherited + " is not a listening TCP socket"));
        }
        if (!bind.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly();
            String address = inherited >= 0 ? "inherited fd " + inherited : options.bindHost() + ":" + options.port();
            Throwable cause = bind.cause();
            String reason = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
            // Netty's native messages wrap the system's words: "bind(..) failed with error(-98): Address already in use".
            int errno = reason.lastIndexOf("): ");
            if (errno >= 0) {
                reason = reason.substring(errno + 3);
            }
            BindException failure = new BindException("cannot listen on " + address + ": " + reason);
            failure.initCause(cause);
            throw failure;
        }
        this.listenerChannel = bind.channel();
        this.localAddress = (InetSocketAddress) listenerChannel.localAddress();
        // A socket another process holds too (systemd's) keeps its accept queue when we close our
        // copy: connects wait there for the next process. Neither a SYN filter, which would stay on
        // the shared socket and starve that process, nor a sentinel connect belongs on it.
        this.sharedListener = inherited >= 0;
        this.gateSupported = !sharedListener && HandshakeGate.supported(listenerChannel);
        drain.prepare(localAddress.getPort());
        this.ready = true;
    }

    /**
     * Binds and starts accepting.
     *
     * @throws IOException naming the address when it cannot listen there (in use, not local)
     */
    public static Server start(ServerOptions options, Protocol protocol, ServerListener listener) throws IOException {
        return new Server(options, protocol, listener);
    }

    public static Server start(ServerOptions options, Protocol protocol) throws IOException {
        return start(options, protocol, ServerListener.NONE);
    }

    /** The address actually bound: the real port when port 0 was asked for. */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    public ServerOptions options() {
        return options;
    }

    /** True from bind until a drain starts: what a readiness probe should report. */
    public boolean isReady() {
        return ready;
    }

    public int openConnections() {
        return connections.size();
    }

    /** Completes when the listening socket is closed and new connects are refused. */
    public CompletableFuture<Void> listenerClosed() {
        return listenerClosed;
    }

    /**
     * Completes with the drain's report once the server has stopped: the listener closed, every
     * connection ended and the event loops shut down. Grace's threads are daemons, so a {@code main}
     * that returns ends the JVM at once; waiting on this (or {@link #awaitTermination()}) keeps
     * it serving until someone calls {@link #stop()}. Completing the returned future does nothing
     * to the server.
     */
    public CompletableFuture<DrainReport> terminationFuture() {
        return drain.report().copy();
    }

    /**
     * SIGTERM and SIGINT stop this server: the first signal drains it, the next aborts what is
     * left. Signals, not a shutdown hook, so that the second one is still seen while the drain
     * runs. Returns this server; pair it with {@link #awaitTermination()} in {@code main}.
     */
    public Server stopOnSignals() {
        SignalStop.add(this);
        return this;
    }

    /** Blocks until the server has stopped (see {@link #terminationFuture()}) and returns the drain's report. */
    public DrainReport awaitTermination() throws InterruptedException {
        try {
            return drain.report().get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("the drain of " + this + " failed", e.getCause());
        }
    }

    /**
     * The server takes charge of a connection its protocol opened itself (a relay's upstream
     * leg): a drain gives it until the drain's deadline, then RST, so that it is never closed
     * underneath with a plain FIN when the event loops shut down. Adopted connections are not
     * clients and do not count in the {@link DrainReport}.
     */
    public void adopt(Connection connection) {
        java.util.Objects.requireNonNull(connection, "connection");
        adopted.add(connection);
        connection.closeFuture().whenComplete((report, failure) -> adopted.remove(connection));
    }

    /**
     * Stops by draining: (a) readiness off, still accepting for the drain delay; (b) the
     * listener closes once its backlog is accepted; (c) idle connections close gracefully,
     * spread over the idle-close window; (d) busy ones get the protocol's drain hook and close
     * gracefully once idle; (e) at the drain deadline the rest is aborted. A second call aborts
     * whatever is left at once. Both calls return the same report.
     */
    public synchronized CompletableFuture<DrainReport> stop() {
        if (!stopRequested) {
            stopRequested = true;
            stopStarted.complete(null);
            ready = false;
            if (options.drainDelay().isZero() && gateSupported && !sharedListener) {
                // No new handshake from now on; the listener closes once those under way are accepted.
                HandshakeGate gate = HandshakeGate.close(listenerChannel);
                handshakeGate = gate == null ? null : gate.startChecks();
            }
            // Readiness is reported off before the drain can close the listener (on NIO its thread
            // may do that at once), so an observer never sees "listener closed" first.
            listener.readinessChanged(false);
            drain.begin(false);
        } else {
            drain.force();
        }
        return drain.report();
    }

    // ---- for ListenerHandoff -----------------------------------------------------------------

    /**
     * The listening socket's file descriptor, for passing it to another process.
     *
     * @throws IllegalStateException off epoll, where Netty does not expose it
     */
    int listenerFd() {
        if (!(listenerChannel instanceof io.netty.channel.epoll.EpollServerSocketChannel epoll)) {
            throw new IllegalStateException("handing a listener over needs the epoll transport, not " + options.transport());
        }
        return epoll.fd().intValue();
    }

    /** Whether another process holds the listener too (systemd's copy, or the one it was handed to). */
    boolean listenerShared() {
        return sharedListener;
    }

    /** Completes when the first stop request (or a handoff) begins this server's drain. */
    CompletableFuture<Void> stopStarted() {
        return stopStarted;
    }

    /**
     * Another process accepts on this listener now: stop accepting at once, without filtering
     * SYNs or touching the accept queue, which belongs to both processes and which the other
     * one goes on emptying, then drain as {@link #stop()} does but without the drain delay
     * (readiness is the other process's now). Returns false, doing nothing, when a stop has
     * already begun.
     */
    synchronized boolean handOver() {
        if (stopRequested) {
            return false;
        }
        stopRequested = true;
        stopStarted.complete(null);
        sharedListener = true;
        ready = false;
        listener.readinessChanged(false);
        // Netty deregisters from epoll before it closes: our copy of the descriptor goes, the socket stays.
        closeListener(false);
        drain.begin(true);
        return true;
    }

    /**
     * The process that handed this listener over has closed its copy: the socket is ours alone
     * again, so our own drain may filter its SYNs or send it a sentinel.
     */
    void listenerReleasedByPreviousOwner() {
        sharedListener = false;
        gateSupported = HandshakeGate.supported(listenerChannel);
    }

    /**
     * Stops and waits for the drain to finish.
     *
     * @throws IllegalStateException on one of the server's own event loops, whose connections the
     *                               drain needs: waiting there would never end
     */
    @Override
    public void close() {
        for (var loop : group) {
            if (loop.inEventLoop()) {
                throw new IllegalStateException("Server.close() would wait forever on the server's own event loop; use stop()");
            }
        }
        stop().join();
    }

    private void connectionAccepted(Channel channel) {
        acceptedNotInitialized.decrementAndGet();
        Connection connection = Grace.install(channel, connectionOptions, listener);
        connections.add(connection);
        connection.closeFuture().whenComplete((report, failure) -> connections.remove(connection));
        listener.accepted(connection);
        protocol.connectionOpened(connection);
        drain.joined(connection);
    }

    // ---- for Drain ---------------------------------------------------------------------------

    /** What a drain may do to this server, and nothing more. */
    private final class DrainTarget implements Drain.Target {
        @Override
        public List<Connection> connections() {
            return List.copyOf(connections);
        }

        @Override
        public Iterable<EventExecutor> connectionLoops() {
            return group;
        }

        @Override
        public void closeListener(boolean acceptBacklogFirst) {
            Server.this.closeListener(acceptBacklogFirst);
        }

        @Override
        public void awaitAcceptedInitialized(long timeoutMillis) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (acceptedNotInitialized.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
        }

        @Override
        public void drainStarted(Connection connection, java.time.Duration timeLeft) {
            protocol.drainStarted(connection, timeLeft);
        }

        @Override
        public RequestCounts requestCounts() {
            return protocol.requestCounts();
        }

        @Override
        public CompletableFuture<Void> adoptedClosed() {
            return CompletableFuture.allOf(adopted.stream().map(Connection::closeFuture).toArray(CompletableFuture[]::new));
        }

        @Override
        public void abortAdopted() {
            adopted.forEach(Connection::abortAtDeadline);
        }

        @Override
        public void stopped(DrainReport report) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
            if (report != null) {
                listener.drained(report);
            }
        }

        @Override
        public String toString() {
            return Server.this.toString();
        }
    }

    /**
     * Closes the listener without resetting a client whose {@code connect()} succeeded; waits
     * until it is closed. On epoll the kernel is told to ignore new SYNs first, and the listener
     * closes once every handshake already under way has been accepted; elsewhere a sentinel
     * connect shows when the backlog has been accepted (see {@link BacklogSentinel}).
     */
    private void closeListener(boolean acceptBacklogFirst) {
        if (!listenerClosing.compareAndSet(false, true)) {
            return;
        }
        if (acceptBacklogFirst && !sharedListener) {
            HandshakeGate gate = handshakeGate;
            if (gate == null && gateSupported) {
                gate = HandshakeGate.close(listenerChannel);
                if (gate != null) {
                    gate.startChecks();
                }
            }
            if (gate != null) {
                gate.awaitClosed();
            } else {
                // Bounded well below the 1 s SYN retry: under a connect flood the full accept queue
                // drops the sentinel's SYN, and then closing promptly matters more.
                backlogSentinel.acceptBacklogThenClose(listenerChannel, SENTINEL_TIMEOUT_MILLIS);
            }
        }
        listenerChannel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        awaitRefusingConnects();
        listenerClosed.complete(null);
        listener.listenerClosed();
    }

    /**
     * NIO closes a listening socket registered with a selector only when the selector next
     * runs; until then the kernel still completes handshakes. Connects to it until one is
     * refused (bounded), so "closed" means refusing; each probe that still got through is reset.
     */
    private void awaitRefusingConnects() {
        if (options.transport() != dev.grace.Transport.NIO) {
            return;
        }
        java.net.InetAddress target = localAddress.getAddress().isAnyLocalAddress()
                ? java.net.InetAddress.getLoopbackAddress() : localAddress.getAddress();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < deadline) {
            try (java.nio.channels.SocketChannel probe = java.nio.channels.SocketChannel.open()) {
                probe.setOption(java.net.StandardSocketOptions.SO_LINGER, 0);
                probe.connect(new InetSocketAddress(target, localAddress.getPort()));
            } catch (IOException refused) {
                return;
            }
            listenerChannel.eventLoop().submit(() -> { }).awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
    }

    /** The listener's event loop, for tests that need to hold it still. */
    io.netty.channel.EventLoop listenerEventLoop() {
        return listenerChannel.eventLoop();
    }

    @Override
    public String toString() {
        return "Server[" + localAddress + " " + options.transport() + (ready ? "" : " draining") + "]";
    }
}
