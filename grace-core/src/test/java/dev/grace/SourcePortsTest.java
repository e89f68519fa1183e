package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Kernel;
import dev.grace.testkit.Ports;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(FdLeakCheck.class)
class SourcePortsTest {

    @Test
    void portsAreLeasedInTurnAndOneStillHeldIsSkipped() {
        SourcePorts ports = SourcePorts.range(5000, 5002);

        assertThat(ports.lease()).isEqualTo(5000);
        assertThat(ports.lease()).isEqualTo(5001);
        ports.release(5000);
        assertThat(ports.lease()).isEqualTo(5002);
        assertThat(ports.lease()).as("wraps, skipping 5001 which is still held").isEqualTo(5000);
        assertThat(ports.lease()).as("every port held: the kernel chooses").isZero();
        ports.release(5001);
        assertThat(ports.lease()).isEqualTo(5001);
    }

    @ParameterizedTest
    @ValueSource(strings = {"2000-1000", "0-10", "65535-65536", "20000", "-5", "1-2-3", "a-b", "1000 - 2000", "123456-123457"})
    void anythingButLowDashHighWithinThePortsIsRefused(String text) {
        assertThatThrownBy(() -> SourcePorts.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRangeParsesToItsBounds() {
        SourcePorts ports = SourcePorts.parse("20000-20999");

        assertThat(ports.low()).isEqualTo(20000);
        assertThat(ports.high()).isEqualTo(20999);
        assertThat(ports).hasToString("20000-20999");
    }

    /**
     * Twenty connections in a row from one port, each closed by us first, so each leaves the
     * port in TIME_WAIT toward the same server: every connect after the first takes that
     * TIME_WAIT over. Without the bind and SO_REUSEADDR the second connect fails.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void oneSourcePortServesConnectionAfterConnectionThoughEachLeftATimeWait(Transport transport) throws Exception {
        int port = Ports.freeRunBelowEphemeral(1);
        SourcePorts ports = SourcePorts.range(port, port);
        EventLoopGroup group = transport.newEventLoopGroup(1, "source-ports");
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Bootstrap bootstrap = new Bootstrap().group(group).channel(transport.channelClass())
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            Grace.install(channel, ConnectionOptions.defaults(), ConnectionListener.NONE);
                        }
                    });
            for (int i = 0; i < 20; i++) {
                Channel channel = ports.connect(bootstrap, (InetSocketAddress) server.getLocalSocketAddress()).sync().channel();
                Connection connection = Grace.of(channel);
                try (Socket accepted = server.accept()) {
                    assertThat(accepted.getPort()).as("connection %d came from the chosen port", i).isEqualTo(port);
                    connection.shutdownOutput();
                    InputStream in = accepted.getInputStream();
                    assertThat(in.read()).as("our FIN").isEqualTo(-1);
                }
                CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);
                assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
                channel.closeFuture().sync();
                channel.eventLoop().submit(() -> { }).sync(); // the port's release runs in the close's own task
            }
            assertThat(Kernel.timeWaitFrom(port)).as("we sent the first FIN each time; one TIME_WAIT is left").hasSize(1);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /**
     * The first port of the range is held by a listener, so the kernel refuses to bind it: that
     * one connect fails, the port is set aside, and every later connect comes from the second.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aPortTheKernelRefusesFailsOneConnectAndIsSetAside(Transport transport) throws Exception {
        int low = Ports.freeRunBelowEphemeral(2);
        SourcePorts ports = SourcePorts.range(low, low + 1);
        EventLoopGroup group = transport.newEventLoopGroup(1, "source-ports");
        try (ServerSocket holder = new ServerSocket(low, 1, InetAddress.getLoopbackAddress());
                ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Bootstrap bootstrap = bare(group, transport);
            InetSocketAddress target = (InetSocketAddress) server.getLocalSocketAddress();
            ChannelFuture refused = ports.connect(bootstrap, target).await();
            assertThat(refused.isSuccess()).isFalse();
            assertThat(refused.cause()).hasMessageContaining("Address already in use");
            for (int i = 0; i < 5; i++) {
                Channel channel = ports.connect(bootstrap, target).sync().channel();
                try (Socket accepted = server.accept()) {
                    assertThat(accepted.getPort()).as("connection %d", i).isEqualTo(low + 1);
                }
                channel.close().sync();
                channel.eventLoop().submit(() -> { }).sync(); // the port's release runs in the close's own task
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /**
     * Two of the range's three ports are held by listeners: a connect that may try on goes
     * through from the third, each refused port counted and set aside; with every port held,
     * the kernel's choice.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aConnectThatMayTryOnGoesThroughFromTheNextPortTheKernelAccepts(Transport transport) throws Exception {
        int low = Ports.freeRunBelowEphemeral(3);
        EventLoopGroup group = transport.newEventLoopGroup(1, "source-ports");
        try (ServerSocket first = new ServerSocket(low, 1, InetAddress.getLoopbackAddress());
                ServerSocket second = new ServerSocket(low + 1, 1, InetAddress.getLoopbackAddress());
                ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Bootstrap bootstrap = bare(group, transport);
            InetSocketAddress target = (InetSocketAddress) server.getLocalSocketAddress();
            SourcePorts ports = SourcePorts.range(low, low + 2);
            Channel channel = ports.connectTrying(bootstrap, target).sync().getNow();
            try (Socket accepted = server.accept()) {
                assertThat(accepted.getPort()).isEqualTo(low + 2);
            }
            assertThat(ports.attempts()).isEqualTo(3);
            assertThat(ports.refusals()).isEqualTo(2);
            assertThat(ports.kernelChoices()).isZero();
            channel.close().sync();

            try (ServerSocket third = new ServerSocket(low + 2, 1, InetAddress.getLoopbackAddress())) {
                SourcePorts allHeld = SourcePorts.range(low, low + 2);
                Channel fallback = allHeld.connectTrying(bootstrap, target).sync().getNow();
                try (Socket accepted = server.accept()) {
                    assertThat(accepted.getPort()).as("the kernel's choice").isNotIn(low, low + 1, low + 2);
                }
                assertThat(allHeld.refusals()).isEqualTo(3);
                assertThat(allHeld.kernelChoices()).isEqualTo(1);
                fallback.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** A bootstrap whose channels get no handler: the connect alone is under test. */
    private static Bootstrap bare(EventLoopGroup group, Transport transport) {
        return new Bootstrap().group(group).channel(transport.channelClass())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                    }
                });
    }

    @Test
    void anUnresolvedTargetIsRefusedBeforeAnyPortIsTaken() {
        SourcePorts ports = SourcePorts.range(20000, 20000);

        assertThatThrownBy(() -> ports.connect(new Bootstrap(), InetSocketAddress.createUnresolved("localhost", 80)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(ports.lease()).isEqualTo(20000);
    }
}
