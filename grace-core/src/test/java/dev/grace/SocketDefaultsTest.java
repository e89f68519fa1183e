package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import dev.grace.server.ServerOptions;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Grace no longer sets TCP_NODELAY itself (a second setsockopt per socket): it relies on Netty
 * turning it on for every socket channel it makes. These fail the day Netty stops.
 */
@ExtendWith(FdLeakCheck.class)
class SocketDefaultsTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void acceptedConnectionsHaveNagleOff(Transport transport) throws Exception {
        CompletableFuture<Boolean> noDelay = new CompletableFuture<>();
        ServerListener listener = new ServerListener() {
            @Override
            public void accepted(Connection connection) {
                noDelay.complete(connection.channel().config().getOption(ChannelOption.TCP_NODELAY));
            }
        };
        Server server = Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1), new EchoProtocol(), listener);
        try (Peer peer = Peer.connect(server.localAddress())) {
            assertThat(noDelay.get(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void clientChannelsHaveNagleOff(Transport transport) throws Exception {
        Channel channel = transport.newChannel(new InetSocketAddress("127.0.0.1", 9));
        try {
            assertThat(channel.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
        } finally {
            channel.unsafe().closeForcibly();
        }
    }
}
