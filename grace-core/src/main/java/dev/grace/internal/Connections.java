package dev.grace.internal;

import dev.grace.Connection;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import io.netty.channel.Channel;

/** The one door into the machinery, for {@link dev.grace.Grace}: put a connection on a channel, find it again. */
public final class Connections {
    private Connections() {}

    public static Connection install(Channel channel, ConnectionOptions options, ConnectionListener listener) {
        return GracefulConnection.install(channel, options, listener);
    }

    /** The connection installed on {@code channel}, or null. */
    public static Connection find(Channel channel) {
        return channel.pipeline().get(GracefulConnection.HANDLER_NAME) instanceof GracefulConnection connection ? connection : null;
    }
}
