package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Close requests that race with the application or the peer; each once truncated a stream or lost a report. */
@ExtendWith(FdLeakCheck.class)
class CloseRacesTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aWriteIssuedFromTheLastWritesListenerStillGoesOutBeforeOurFin(Transport transport) throws Exception {
        byte[] first = new byte[1024 * 1024];
        byte[] second = new byte[2000];
        new Random(9).nextBytes(first);
        new Random(10).nextBytes(second);
        try (TestServer server = TestServer.start(transport, connection -> { });
                Peer peer = Peer.connect(server.address(), 16 * 1024)) {
            Connection connection = server.recorder.nextAccepted();
            Channel channel = connection.channel();
            channel.eventLoop().execute(() -> {
                channel.config().setOption(ChannelOption.SO_SNDBUF, 16 * 1024);
                channel.writeAndFlush(Unpooled.wrappedBuffer(first))
                        .addListener(f -> channel.writeAndFlush(Unpooled.wrappedBuffer(second)));
                connection.closeGracefully(Duration.ofSeconds(10));
            });
            Peer.ReadResult seen = peer.readToEnd();
            peer.close();
            CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);

            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(seen.bytes()).hasSize(first.length + second.length);
            assertThat(Arrays.copyOfRange(seen.bytes(), first.length, seen.bytes().length)).isEqualTo(second);
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.discardedUnsent()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aChannelClosedBeforeItEverConnectedStillGetsItsReport(Transport transport) throws Exception {
        EventLoopGroup group = transport.newEventLoopGroup(1, "never-connected");
        try {
            AtomicReference<Connection> installed = new AtomicReference<>();
            ChannelFuture registered = new Bootstrap().group(group).channel(transport.channelClass())
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            installed.set(Grace.install(channel));
                        }
                    })
                    .register().sync();
            CloseReport report = installed.get().abort().get(10, TimeUnit.SECONDS);

            assertThat(registered.channel().isOpen()).isFalse();
            assertThat(report.outcome()).isIn(Outcome.ABORTED, Outcome.ERROR);
            assertThat(report.bytesIn()).isZero();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).sync();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void busyAndIdleMarksFromAnotherThreadLandInTheOrderTheyWereMade(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, connection -> { });
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.markIdle();
            connection.markBusy();
            connection.channel().eventLoop().submit(() -> { }).sync();

            assertThat(connection.isIdle()).isFalse();
            connection.markIdle();
            connection.channel().eventLoop().submit(() -> { }).sync();
            assertThat(connection.isIdle()).isTrue();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aResetWaitingUnreadWhenWeCloseIsStillAPeerReset(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, connection -> connection.channel().config().setAutoRead(false))) {
            Peer peer = Peer.connect(server.address());
            Connection connection = server.recorder.nextAccepted();
            peer.send("unread");
            peer.reset();
            CompletableFuture<CloseReport> closed = connection.closeGracefully(Duration.ofSeconds(10));
            CloseReport report = closed.get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).as("%s", report).isEqualTo(Outcome.PEER_RESET);
        }
    }
}
