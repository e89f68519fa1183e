package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.grace.server.Protocol;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A protocol written for stock Netty never asks for half-closed input: the peer's FIN closes
 * its connection gracefully, once what the protocol still owes has gone out.
 */
@ExtendWith(FdLeakCheck.class)
class PeerFinClosesTest {

    /** Answers each read after {@code delayMillis}, busy in between, as a request/response protocol does. */
    private static Protocol answersLater(long delayMillis) {
        return connection -> connection.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                int n = msg instanceof ByteBuf buf ? buf.readableBytes() : 0;
                ReferenceCountUtil.release(msg);
                connection.markBusy();
                ctx.executor().schedule(() -> {
                    ctx.writeAndFlush(Unpooled.copiedBuffer("answer to " + n + " bytes", StandardCharsets.UTF_8))
                            .addListener(f -> connection.markIdle());
                }, delayMillis, TimeUnit.MILLISECONDS);
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void anIdleConnectionClosesGracefullyOnThePeersFin(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, answersLater(0));
                Peer peer = Peer.connect(server.address())) {
            server.recorder.nextAccepted();
            peer.halfClose();
            Peer.ReadResult read = peer.readToEnd();
            CloseReport report = server.recorder.nextClosed();

            assertThat(read.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.firstCloser()).isEqualTo(Side.PEER);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aBusyConnectionFinishesItsAnswerThenCloses(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, answersLater(200));
                Peer peer = Peer.connect(server.address())) {
            peer.send("question");
            peer.halfClose();
            Peer.ReadResult read = peer.readToEnd();
            CloseReport report = server.recorder.nextClosed();

            assertThat(read.text()).isEqualTo("answer to 8 bytes");
            assertThat(read.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.duration().toMillis()).as("closed after the answer, not at once").isGreaterThanOrEqualTo(190);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aProtocolThatWritesAfterThePeersFinKeepsTheConnection(Transport transport) throws Exception {
        Protocol base = answersLater(0);
        Protocol halfClosedInput = new Protocol() {
            @Override
            public void connectionOpened(Connection connection) {
                base.connectionOpened(connection);
            }

            @Override
            public ConnectionOptions connectionOptions(ConnectionOptions asked) {
                return asked.withWritesAfterPeerFin(true);
            }
        };
        try (TestServer server = TestServer.start(transport, halfClosedInput);
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            peer.halfClose();
            server.recorder.awaitState(ConnectionState.PEER_FIN_RECEIVED);

            assertThatThrownBy(() -> connection.closeFuture().get(300, TimeUnit.MILLISECONDS))
                    .as("still open 300 ms after the peer's FIN").isInstanceOf(TimeoutException.class);
            connection.channel().writeAndFlush(Unpooled.copiedBuffer("late", StandardCharsets.UTF_8));
            connection.shutdownOutput();
            assertThat(peer.readToEnd().text()).isEqualTo("late");
        }
    }
}
