package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testing.Protocols;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DuplexChannel;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Netty's shutdownOutput() fails writes that were flushed but not yet written and then sends a
 * clean FIN: the peer gets a truncated stream that looks complete. Grace waits for every
 * write to reach the kernel before its FIN.
 */
@ExtendWith(FdLeakCheck.class)
class PendingWritesTest {
    private static final int MEBIBYTE = 1024 * 1024;
    private static final int SMALL_WINDOW = 16 * 1024;

    private static byte[] payload() {
        byte[] bytes = new byte[MEBIBYTE];
        new Random(11).nextBytes(bytes);
        return bytes;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void oneMebibyteWrittenThenClosedAtOnceArrivesWholeThenFin(Transport transport) throws Exception {
        byte[] payload = payload();
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address(), SMALL_WINDOW)) {
            Connection connection = server.recorder.nextAccepted();
            // Write and close in the same event-loop task, with small kernel buffers both ends
            // (loopback's autotuned send buffer would swallow a mebibyte whole): most of it is
            // still in Netty's outbound buffer when the close begins.
            connection.channel().eventLoop().execute(() -> {
                connection.channel().config().setOption(ChannelOption.SO_SNDBUF, SMALL_WINDOW);
                connection.channel().writeAndFlush(Unpooled.wrappedBuffer(payload));
                connection.closeGracefully(Duration.ofSeconds(10));
            });
            Peer.ReadResult seen = peer.readToEnd();
            peer.close();
            CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);

            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(seen.bytes()).isEqualTo(payload);
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.bytesOut()).isEqualTo(MEBIBYTE);
            assertThat(report.discardedUnsent()).isZero();
        }
    }

    /** The trap itself, on plain Netty: what Grace exists to prevent. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void plainNettyShutdownOutputTruncatesPendingWritesBehindACleanFin(Transport transport) throws Exception {
        // On io_uring (Netty 4.2.17) the same call does worse: the write in flight completes into a
        // nulled outbound buffer (NPE in AbstractIoUringStreamChannel.writeComplete0) and the peer waits for ever.
        org.junit.jupiter.api.Assumptions.assumeTrue(transport != Transport.IO_URING, "io_uring: Netty's handler throws instead");
        byte[] payload = payload();
        EventLoopGroup group = transport.newEventLoopGroup(1, "plain");
        AtomicReference<Channel> child = new AtomicReference<>();
        try {
            Channel listener = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannelClass())
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            child.set(ctx.channel());
                            ctx.channel().config().setOption(ChannelOption.SO_SNDBUF, SMALL_WINDOW);
                            ctx.writeAndFlush(Unpooled.wrappedBuffer(payload));
                            ((DuplexChannel) ctx.channel()).shutdownOutput();
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            try (Peer peer = Peer.connect((InetSocketAddress) listener.localAddress(), SMALL_WINDOW)) {
                Peer.ReadResult seen = CompletableFuture.supplyAsync(peer::readToEnd).get(10, TimeUnit.SECONDS);

                assertThat(seen.end()).as("a clean EOF...").isEqualTo(Peer.ReadResult.End.FIN);
                assertThat(seen.bytes().length).as("...after a truncated stream").isLessThan(MEBIBYTE);
            }
            listener.close().sync();
        } finally {
            // Seen on Netty 4.2.17, both transports: a channel whose pending writes were failed by
            // shutdownOutput() can survive the peer's FIN and even the event loop's shutdown.
            if (child.get() != null) {
                child.get().close().sync();
            }
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).sync();
        }
    }
}
