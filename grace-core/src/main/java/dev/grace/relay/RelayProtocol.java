package dev.grace.relay;

import dev.grace.Connection;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import dev.grace.Grace;
import dev.grace.SourcePorts;
import dev.grace.Transport;
import dev.grace.internal.GracefulConnection;
import dev.grace.server.Protocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.RecvByteBufAllocator;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Makes a {@link dev.grace.server.Server} a TCP proxy: each accepted client gets an upstream
 * leg to {@code target}, on the client's own event loop, and a {@link Relay} between the two.
 * An upstream that cannot be reached resets the client. During a drain sessions are never cut
 * while they relay or sit idle (they stay busy); the drain's deadline aborts both legs.
 */
public final class RelayProtocol implements Protocol {
    private final InetSocketAddress target;
    private final RelayOptions options;
    private final ConnectionOptions upstreamOptions;
    private final RelayListener listener;
    private final Set<Channel> openUpstreams = ConcurrentHashMap.newKeySet();
    private final Set<Connection> openUpstreamLegs = ConcurrentHashMap.newKeySet();

    /**
     * @param upstreamOptions Grace's limits for the upstream legs; the relay applies its fin
     *                        timeout and upstream release on top
     */
    public RelayProtocol(InetSocketAddress target, RelayOptions options, ConnectionOptions upstreamOptions, RelayListener listener) {
        this.target = target;
        this.options = options;
        this.upstreamOptions = upstreamOptions.withHalfClosedTimeout(LEGS_HALF_CLOSED_TIMEOUT)
                .withReleaseWithReset(options.upstreamRelease() == RelayOptions.UpstreamRelease.RESET);
        this.listener = listener;
    }

    /**
     * Off: a leg on its own may sit half-closed while the session progresses on the other leg;
     * the relay's fin timer, which watches both, bounds those states instead.
     */
    static final java.time.Duration LEGS_HALF_CLOSED_TIMEOUT = java.time.Duration.ZERO;

    /** The connection options a proxy's client legs need: the relay's fin timer bounds their half-closed states. */
    public static ConnectionOptions clientOptions(ConnectionOptions base, RelayOptions options) {
        return base.withHalfClosedTimeout(LEGS_HALF_CLOSED_TIMEOUT);
    }

    @Override
    public void connectionOpened(Connection client) {
        client.markBusy();
        Channel clientChannel = client.channel();
        clientChannel.config().setAutoRead(false);
        clientChannel.config().setRecvByteBufAllocator(readBuffers());
        Relay relay = Relay.accept(client, listener, options);
        Bootstrap upstreamLeg = new Bootstrap()
                .group(clientChannel.eventLoop())
                .channel(Transport.of(clientChannel).channelClass())
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()))
                .option(ChannelOption.RCVBUF_ALLOCATOR, readBuffers())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        openUpstreams.add(channel);
                        channel.closeFuture().addListener(f -> openUpstreams.remove(channel));
                        Connection upstream = Grace.install(channel, upstreamOptions, ConnectionListener.NONE);
                        openUpstreamLegs.add(upstream);
                        upstream.closeFuture().whenComplete((report, failure) -> openUpstreamLegs.remove(upstream));
                        relay.upstreamCreated(upstream);
                    }
                });
        SourcePorts ports = options.upstreamSourcePorts();
        ChannelFuture connect = ports == null ? upstreamLeg.connect(target) : ports.connect(upstreamLeg, target);
        connect.addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
                relay.upstreamConnected();
            } else {
                relay.upstreamFailed(target, f.cause());
            }
        });
    }

    /** One read is at most the relay's max buffer. */
    private RecvByteBufAllocator readBuffers() {
        int max = options.maxBufferBytes();
        return new AdaptiveRecvByteBufAllocator(RelayOptions.MIN_BUFFER_BYTES, Math.min(2048, max), max);
    }

    @Override
    public CompletableFuture<Void> ownConnectionsClosed() {
        List<CompletableFuture<Void>> closes = openUpstreams.stream().map(channel -> {
            CompletableFuture<Void> closed = new CompletableFuture<>();
            channel.closeFuture().addListener(f -> closed.complete(null));
            return closed;
        }).toList();
        return CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new));
    }

    @Override
    public void abortOwnConnections() {
        for (Connection upstream : openUpstreamLegs) {
            if (upstream instanceof GracefulConnection graceful) {
                graceful.abortAtDeadline();
            } else {
                upstream.abort();
            }
        }
    }

    @Override
    public String toString() {
        return "relay to " + target;
    }
}
