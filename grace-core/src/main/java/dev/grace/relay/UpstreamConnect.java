package dev.grace.relay;

import dev.grace.Connection;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import dev.grace.Grace;
import dev.grace.SourcePorts;
import dev.grace.Transport;
import dev.grace.server.Server;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.RecvByteBufAllocator;
import java.net.InetSocketAddress;

/**
 * Opens one session's upstream leg: on the client's own event loop (so the relay needs no
 * lock), with the client's transport, auto-read off, from the configured source ports, within
 * the connect timeout; Grace goes on it at once and the server adopts it, so a drain owns it.
 * From a range of source ports, a port the kernel refuses costs the client nothing: the next
 * is tried ({@link SourcePorts#connectTrying}), each attempt a channel of its own. The session
 * hears of the leg once it connected, or that the upstream could not be reached.
 */
final class UpstreamConnect {
    private final InetSocketAddress target;
    private final RelayOptions options;
    private final ConnectionOptions legOptions;
    private final RecvByteBufAllocator readBuffers;
    private volatile Server server;

    UpstreamConnect(InetSocketAddress target, RelayOptions options, ConnectionOptions legOptions, RecvByteBufAllocator readBuffers) {
        this.target = target;
        this.options = options;
        this.legOptions = legOptions;
        this.readBuffers = readBuffers;
    }

    /** The server whose drain owns the upstream legs. */
    void ownedBy(Server owner) {
        this.server = owner;
    }

    /** Starts connecting {@code relay}'s upstream leg; call on the client's event loop. */
    void connect(Channel client, Relay relay) {
        Transport transport = Transport.of(client);
        Bootstrap leg = new Bootstrap()
                .group(client.eventLoop())
                .channelFactory(() -> transport.newChannel(target))
                // TCP_NODELAY is Netty's default: setting it again is one more setsockopt per leg.
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()))
                .option(ChannelOption.RCVBUF_ALLOCATOR, readBuffers)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        Connection upstream = Grace.install(channel, legOptions, ConnectionListener.NONE);
                        Server owner = server;
                        if (owner != null) {
                            owner.adopt(upstream);
                        }
                    }
                });
        SourcePorts ports = options.upstreamSourcePorts();
        if (ports == null) {
            leg.connect(target).addListener((ChannelFuture f) -> connected(relay, f.isSuccess() ? f.channel() : null, f.cause()));
        } else {
            ports.connectTrying(leg, target).addListener(f -> connected(relay, f.isSuccess() ? (Channel) f.getNow() : null, f.cause()));
        }
    }

    private void connected(Relay relay, Channel channel, Throwable failure) {
        if (channel == null) {
            relay.upstreamFailed(target, failure);
            return;
        }
        relay.upstreamCreated(Grace.of(channel));
        relay.upstreamConnected();
    }

    InetSocketAddress target() {
        return target;
    }
}
