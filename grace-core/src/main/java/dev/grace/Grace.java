package dev.grace;

import dev.grace.internal.Connections;
import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;
import java.util.Objects;

/**
 * Entry points: put Grace on a Netty channel, find it again.
 *
 * <p>{@code install} must run before the protocol's handlers are added (Grace goes first in
 * the pipeline so it sees every byte and every transport event) and on the channel's event
 * loop or before the channel is registered, as a {@code ChannelInitializer} does.
 *
 * <p>Grace turns on {@code ALLOW_HALF_CLOSURE}, so that it sees the peer's FIN as an event and
 * not as a close. What a stock Netty pipeline expects still holds: unless the options say
 * {@link ConnectionOptions#writesAfterPeerFin()}, the peer's FIN closes the connection
 * gracefully, at once when the protocol is idle and otherwise as soon as it calls
 * {@link Connection#markIdle()} (a response still being written is finished first).
 */
public final class Grace {
    private Grace() {}

    /** Installs Grace first in {@code channel}'s pipeline and returns its connection. */
    public static Connection install(Channel channel, ConnectionOptions options, ConnectionListener listener) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(listener, "listener");
        if (!(channel instanceof DuplexChannel)) {
            throw new IllegalArgumentException("Grace needs a TCP channel that can half-close, got " + channel.getClass().getName());
        }
        return Connections.install(channel, options, listener);
    }

    /** Installs Grace with default options and no listener. */
    public static Connection install(Channel channel) {
        return install(channel, ConnectionOptions.defaults(), ConnectionListener.NONE);
    }

    /** The connection Grace installed on {@code channel}. */
    public static Connection of(Channel channel) {
        Connection connection = Connections.find(channel);
        if (connection != null) {
            return connection;
        }
        throw new IllegalStateException("Grace is not installed on " + channel);
    }
}
