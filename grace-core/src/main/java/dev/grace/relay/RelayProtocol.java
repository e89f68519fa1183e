package dev.grace.relay;

import dev.grace.Connection;
import dev.grace.ConnectionOptions;
import dev.grace.server.Protocol;
import dev.grace.server.Server;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.RecvByteBufAllocator;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Makes a {@link Server} a TCP proxy, and is the one way to start one:
 * {@code Server.start(serverOptions, new RelayProtocol(target, relayOptions, upstreamOptions, listener))}.
 * Each accepted client gets an upstream leg to {@code target} ({@link UpstreamConnect}), on the
 * client's own event loop, and a {@link Relay} session between the two. An upstream that cannot
 * be reached resets the client. During a drain sessions are never cut while they relay or sit
 * idle (they stay busy); the drain's deadline aborts both legs.
 */
public final class RelayProtocol implements Protocol {
    /**
     * Off: a leg on its own may sit half-closed while the session progresses on the other leg;
     * the relay's fin timer, which watches both, bounds those states instead.
     */
    static final Duration LEGS_HALF_CLOSED_TIMEOUT = Duration.ZERO;

    private final RelayOptions options;
    private final RelayListener listener;
    private final RecvByteBufAllocator readBuffers;
    private final UpstreamConnect upstream;

    /**
     * @param upstreamOptions Grace's limits for the upstream legs; the relay applies its fin
     *                        timeout and upstream release on top
     */
    public RelayProtocol(InetSocketAddress target, RelayOptions options, ConnectionOptions upstreamOptions, RelayListener listener) {
        this.options = options;
        this.listener = listener;
        // One read is at most the relay's max buffer.
        int max = options.maxBufferBytes();
        this.readBuffers = new AdaptiveRecvByteBufAllocator(RelayOptions.MIN_BUFFER_BYTES, Math.min(2048, max), max);
        ConnectionOptions legs = upstreamOptions.withHalfClosedTimeout(LEGS_HALF_CLOSED_TIMEOUT).withWritesAfterPeerFin(true)
                .withReleaseWithReset(options.upstreamRelease() == RelayOptions.UpstreamRelease.RESET);
        this.upstream = new UpstreamConnect(target, options, legs, readBuffers);
    }

    /**
     * A relay carries each direction on after the other's FIN; the client legs' half-closed states
     * are bounded by the relay's fin timer, not by Grace's timeout.
     */
    @Override
    public ConnectionOptions connectionOptions(ConnectionOptions asked) {
        return asked.withHalfClosedTimeout(LEGS_HALF_CLOSED_TIMEOUT).withWritesAfterPeerFin(true);
    }

    @Override
    public void serverStarting(Server server) {
        upstream.ownedBy(server);
    }

    @Override
    public void connectionOpened(Connection client) {
        client.markBusy();
        Channel clientChannel = client.channel();
        clientChannel.config().setAutoRead(false);
        clientChannel.config().setRecvByteBufAllocator(readBuffers);
        upstream.connect(clientChannel, Relay.accept(client, listener, options));
    }

    @Override
    public String toString() {
        return "relay to " + upstream.target();
    }
}
