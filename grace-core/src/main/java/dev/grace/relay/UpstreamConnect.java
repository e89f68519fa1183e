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
import io.netty.channel.EventLoop;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocal;
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
    /** Per event loop thread: each loop connects its own clients' legs. */
    private final FastThreadLocal<LegBootstrap> legBootstraps = new FastThreadLocal<>();

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
        Bootstrap leg = legBootstrap(client);
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

    /**
     * The leg's bootstrap, made once per event loop and kept there: nothing in it is particular
     * to a session, and building one (options map, factory, initializer) for each was measurable
     * on a proxy that opens thousands of legs a second.
     */
    private Bootstrap legBootstrap(Channel client) {
        Transport transport = Transport.of(client);
        LegBootstrap cached = legBootstraps.get();
        if (cached == null || cached.loop != client.eventLoop() || cached.transport != transport) {
            cached = new LegBootstrap(client.eventLoop(), transport, newBootstrap(client.eventLoop(), transport));
            legBootstraps.set(cached);
        }
        return cached.bootstrap;
    }

    private record LegBootstrap(EventLoop loop, Transport transport, Bootstrap bootstrap) {}

    private Bootstrap newBootstrap(EventLoop loop, Transport transport) {
        return new Bootstrap()
                .group(loop)
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
    }

    InetSocketAddress target() {
        return target;
    }
}
