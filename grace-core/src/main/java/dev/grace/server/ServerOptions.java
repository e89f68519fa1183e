package dev.grace.server;

import dev.grace.ConnectionOptions;
import dev.grace.Transport;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link Server} listens and drains.
 *
 * @param bindHost        address to listen on
 * @param port            port to listen on; 0 picks a free one
 * @param transport       epoll or NIO
 * @param ioThreads       event loop threads
 * @param connection      limits applied to every accepted connection
 * @param drainDelay      how long a stop keeps accepting while reporting "not ready", so a load
 *                        balancer can deregister the server before connects start failing
 * @param drainTimeout    the drain's deadline, counted after the delay: whatever is still open
 *                        then is aborted
 * @param idleCloseWindow spread the graceful closes of idle connections over this window so
 *                        clients do not all reconnect at once; zero closes them at once
 * @param inheritedListener the file descriptor of a socket already listening (systemd socket
 *                        activation: 3) to accept on instead of binding, or -1 to bind
 *                        {@code bindHost:port}; epoll only
 */
public record ServerOptions(
        String bindHost,
        int port,
        Transport transport,
        int ioThreads,
        ConnectionOptions connection,
        Duration drainDelay,
        Duration drainTimeout,
        Duration idleCloseWindow,
        int inheritedListener) {

    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

    public ServerOptions {
        Objects.requireNonNull(bindHost, "bindHost");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(connection, "connection");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
        }
        if (ioThreads < 1) {
            throw new IllegalArgumentException("io-threads must be >= 1, got " + ioThreads);
        }
        requireNotNegative("drain-delay", drainDelay);
        requireNotNegative("drain-timeout", drainTimeout);
        requireNotNegative("idle-close-window", idleCloseWindow);
        if (inheritedListener >= 0 && transport != Transport.EPOLL) {
            throw new IllegalArgumentException("accepting on an inherited listener (fd " + inheritedListener
                    + ") needs the epoll transport, not " + transport);
        }
    }

    public ServerOptions(String bindHost, int port, Transport transport, int ioThreads, ConnectionOptions connection,
            Duration drainDelay, Duration drainTimeout, Duration idleCloseWindow) {
        this(bindHost, port, transport, ioThreads, connection, drainDelay, drainTimeout, idleCloseWindow, -1);
    }

    /** Loopback, port 0, the automatic transport, one thread per core, 30 s drain deadline. */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 0, Transport.auto(), Runtime.getRuntime().availableProcessors(),
                ConnectionOptions.defaults(), Duration.ZERO, DEFAULT_DRAIN_TIMEOUT, Duration.ZERO);
    }

    public ServerOptions withBind(String host, int port) {
        return new ServerOptions(host, port, transport, ioThreads, connection, drainDelay, drainTimeout, idleCloseWindow, inheritedListener);
    }

    public ServerOptions withTransport(Transport value) {
        return new ServerOptions(bindHost, port, value, ioThreads, connection, drainDelay, drainTimeout, idleCloseWindow, inheritedListener);
    }

    public ServerOptions withIoThreads(int value) {
        return new ServerOptions(bindHost, port, transport, value, connection, drainDelay, drainTimeout, idleCloseWindow, inheritedListener);
    }

    public ServerOptions withConnection(ConnectionOptions value) {
        return new ServerOptions(bindHost, port, transport, ioThreads, value, drainDelay, drainTimeout, idleCloseWindow, inheritedListener);
    }

    public ServerOptions withDrainDelay(Duration value) {
        return new ServerOptions(bindHost, port, transport, ioThreads, connection, value, drainTimeout, idleCloseWindow, inheritedListener);
    }

    public ServerOptions withDrainTimeout(Duration value) {
        return new ServerOptions(bindHost, port, transport, ioThreads, connection, drainDelay, value, idleCloseWindow, inheritedListener);
    }

    public ServerOptions withIdleCloseWindow(Duration value) {
        return new ServerOptions(bindHost, port, transport, ioThreads, connection, drainDelay, drainTimeout, value, inheritedListener);
    }

    /** Accept on the listening socket {@code fd} (inherited from systemd, say) instead of binding. */
    public ServerOptions withInheritedListener(int fd) {
        return new ServerOptions(bindHost, port, transport, ioThreads, connection, drainDelay, drainTimeout, idleCloseWindow, fd);
    }

    private static void requireNotNegative(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.isNegative()) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + value);
        }
    }
}
