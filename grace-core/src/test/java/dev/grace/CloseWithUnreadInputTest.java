package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Misbehaviour;
import dev.grace.testkit.Peer;
import dev.grace.testkit.PeerServer;
import dev.grace.testkit.Wire;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A server that answers early and closes while the client is still sending: the classic way a
 * response gets destroyed. A plain close() with unread input makes the kernel send RST; Grace
 * turns the same close() into a graceful one (FIN, then lingering close), so the client gets
 * the whole response and a FIN. A plain-socket server shows the kernel does this, not Netty.
 */
@ExtendWith(FdLeakCheck.class)
class CloseWithUnreadInputTest {
    private static final String RESPONSE = "413 request too large\n";
    private static final int REQUEST_BYTES = 16 * 1024 * 1024;

    /** Reads one chunk of the request, answers, and calls close() with the rest unread. */
    @ChannelHandler.Sharable
    private static final class AnswerEarlyThenClose extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            ctx.writeAndFlush(Unpooled.copiedBuffer(RESPONSE, StandardCharsets.UTF_8))
                    .addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** A client that sends its whole request, half-closes, then reads the response (most clients do). */
    private static Misbehaviour.Session uploadThenRead(InetSocketAddress server) throws Exception {
        try (Peer client = Peer.connect(server)) {
            return client.play(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, new byte[REQUEST_BYTES]);
        }
    }

    /** Which call sees the reset depends on how much of the upload the kernels buffered before it arrived. */
    private static void assertTheClientSawAReset(Misbehaviour.Session view) {
        assertThat(view.sendFailure() != null || view.received().end() == Peer.ReadResult.End.RESET)
                .as("the client sees a reset: upload failure %s, response %s", view.sendFailure(), view.received())
                .isTrue();
        if (view.sendFailure() != null) {
            assertThat(view.sendFailure()).containsAnyOf("Connection reset", "Broken pipe");
        }
    }

    @Test
    void aPlainSocketServerClosingWithUnreadInputResetsTheClient() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.CLOSES_WITH_INPUT_UNREAD, RESPONSE);
                Wire wire = Wire.capture(server.port())) {
            Misbehaviour.Session view = uploadThenRead(server.address());
            Wire.Packets packets = wire.stop();

            assertTheClientSawAReset(view);
            assertThat(packets.resets()).as(packets.toString()).isPositive();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void plainCloseWithUnreadInputResetsTheClient(Transport transport) throws Exception {
        EventLoopGroup group = transport.newEventLoopGroup(1, "plain");
        try {
            Channel listener = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannelClass())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new AnswerEarlyThenClose())
                    .bind("127.0.0.1", 0).sync().channel();
            InetSocketAddress address = (InetSocketAddress) listener.localAddress();
            Misbehaviour.Session view;
            Wire.Packets packets;
            try (Wire wire = Wire.capture(address.getPort())) {
                view = uploadThenRead(address);
                packets = wire.stop();
            }
            listener.close().sync();

            // A client that sends its whole request before reading never gets to read the response.
            assertTheClientSawAReset(view);
            assertThat(packets.resets()).as(packets.toString()).isPositive();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).sync();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void graceTurnsTheSameCloseIntoFinAndTheClientGetsTheWholeResponse(Transport transport) throws Exception {
        AnswerEarlyThenClose protocol = new AnswerEarlyThenClose();
        try (TestServer server = TestServer.start(transport, connection -> {
            connection.channel().config().setAutoRead(false);
            connection.channel().pipeline().addLast(protocol);
        })) {
            Misbehaviour.Session view;
            Wire.Packets packets;
            CompletableFuture<CloseReport> closed;
            try (Wire wire = Wire.capture(server.port())) {
                view = uploadThenRead(server.address());
                closed = CompletableFuture.completedFuture(server.recorder.nextClosed());
                packets = wire.stop();
            }
            CloseReport report = closed.get();

            assertThat(view.sendFailure()).isNull();
            assertThat(view.received().end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(view.received().text()).isEqualTo(RESPONSE);
            // The server's side only: a client whose socket closed right after the last ACK may
            // answer a late duplicate ACK with RST (seen on loopback under load), which loses nothing.
            assertThat(packets.resetsFrom(server.port())).as(packets.toString()).isZero();
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.firstCloser()).isEqualTo(Side.LOCAL);
            assertThat(report.timeWaitHolder()).isEqualTo(Side.LOCAL);
            assertThat(report.bytesIn()).isEqualTo(REQUEST_BYTES);
            assertThat(report.discardedInbound()).as("the unread rest of the upload")
                    .isPositive()
                    .isLessThan(REQUEST_BYTES);
        }
    }
}
