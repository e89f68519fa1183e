package dev.grace;

import java.time.Duration;
import java.util.Objects;

/**
 * Per-connection limits.
 *
 * @param closeTimeout      bounds a graceful close Grace starts on its own (the application
 *                          calling {@code channel.close()}, the idle timeout)
 * @param halfClosedTimeout how long a half-closed connection (our FIN sent and the peer silent,
 *                          or the peer's FIN received and we silent) may see no traffic before
 *                          it is aborted: the kernel never times these states out;
 *                          {@link Duration#ZERO} means never (for a caller that bounds them
 *                          itself, as a relay's fin timeout does)
 * @param idleTimeout       no traffic either way for this long closes the connection
 *                          gracefully; {@link Duration#ZERO} means never
 * @param confirmDelivery   make graceful close wait until the peer acknowledged every byte and
 *                          our FIN (epoll; on NIO the report says {@link Delivery#FLUSHED_TO_KERNEL})
 * @param releaseWithReset  when the peer's FIN came first, answer it with RST instead of FIN once
 *                          the kernel's send queue is empty, every byte acknowledged (epoll on
 *                          Linux, read from /proc/net/tcp; elsewhere the usual FIN), so neither
 *                          side keeps TIME_WAIT ({@link Outcome#RELEASED_WITH_RESET}):
 *                          for a proxy's upstream sockets under heavy churn. When our FIN goes
 *                          first this changes nothing: the kernel enters TIME_WAIT the moment the
 *                          peer's FIN arrives, before any close()
 * @param writesAfterPeerFin the protocol goes on writing after the peer's FIN (half-closed input,
 *                          as an echo or a relay does), so the connection stays open until the
 *                          protocol closes it. False, the default: as in plain Netty, the peer's
 *                          FIN closes the connection gracefully, at once if the protocol is idle
 *                          ({@link Connection#markIdle()}), else as soon as it becomes idle
 */
public record ConnectionOptions(
        Duration closeTimeout, Duration halfClosedTimeout, Duration idleTimeout, boolean confirmDelivery,
        boolean releaseWithReset, boolean writesAfterPeerFin) {

    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_HALF_CLOSED_TIMEOUT = Duration.ofSeconds(30);

    public ConnectionOptions {
        requirePositive("close-timeout", closeTimeout);
        requireNotNegative("half-closed-timeout", halfClosedTimeout);
        requireNotNegative("idle-timeout", idleTimeout);
    }

    public static ConnectionOptions defaults() {
        return new ConnectionOptions(DEFAULT_CLOSE_TIMEOUT, DEFAULT_HALF_CLOSED_TIMEOUT, Duration.ZERO, false, false, false);
    }

    public ConnectionOptions withCloseTimeout(Duration value) {
        return new ConnectionOptions(value, halfClosedTimeout, idleTimeout, confirmDelivery, releaseWithReset, writesAfterPeerFin);
    }

    public ConnectionOptions withHalfClosedTimeout(Duration value) {
        return new ConnectionOptions(closeTimeout, value, idleTimeout, confirmDelivery, releaseWithReset, writesAfterPeerFin);
    }

    public ConnectionOptions withIdleTimeout(Duration value) {
        return new ConnectionOptions(closeTimeout, halfClosedTimeout, value, confirmDelivery, releaseWithReset, writesAfterPeerFin);
    }

    public ConnectionOptions withConfirmDelivery(boolean value) {
        return new ConnectionOptions(closeTimeout, halfClosedTimeout, idleTimeout, value, releaseWithReset, writesAfterPeerFin);
    }

    public ConnectionOptions withReleaseWithReset(boolean value) {
        return new ConnectionOptions(closeTimeout, halfClosedTimeout, idleTimeout, confirmDelivery, value, writesAfterPeerFin);
    }

    public ConnectionOptions withWritesAfterPeerFin(boolean value) {
        return new ConnectionOptions(closeTimeout, halfClosedTimeout, idleTimeout, confirmDelivery, releaseWithReset, value);
    }

    static void requirePositive(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be > 0, got " + value);
        }
    }

    static void requireNotNegative(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.isNegative()) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + value);
        }
    }
}
