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
 * Tells the session when the leg exists, connected, or could not be reached.
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
        Bootstrap leg = new Bootstrap()
                .group(client.eventLoop())
                .channel(Transport.of(client).channelClass())
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
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
                        relay.upstreamCreated(upstream);
                    }
                });
        SourcePorts ports = options.upstreamSourcePorts();
        ChannelFuture connect = ports == null ? leg.connect(target) : ports.connect(leg, target);
        connect.addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
                relay.upstreamConnected();
            } else {
                relay.upstreamFailed(target, f.cause());
            }
        });
    }

    InetSocketAddress target() {
        return target;
    }
}
