package dev.grace.canary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.Version;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Plain Netty epoll, no Grace: a channel that reads only when asked (AUTO_READ off) and has no
 * read pending when the peer's FIN comes loses EPOLLIN and then EPOLLRDHUP; with its interest
 * set empty Netty removes the descriptor from epoll (EPOLL_CTL_DEL) but still counts it as
 * added, so the next write that does not fit asks for EPOLLOUT with an EPOLL_CTL_MOD that fails
 * (ENOENT). Netty then shuts the output down and fails the write: the peer reads a truncated
 * stream behind a clean FIN (about 6 of 32 MiB here, on Netty 4.2.17). grace-core's
 * {@code internal.EpollRegistrationRepair} works around it. This test passes while the bug is
 * there; the day a Netty upgrade fixes it, it fails and says the repair can go.
 */
@ExtendWith(FdLeakCheck.class)
class EpollRegistrationBugCanaryTest {
    private static final int ANSWER_BYTES = 32 * 1024 * 1024;

    /** Answers the peer's FIN with {@link #ANSWER_BYTES}, written once that FIN has been dealt with, then half-closes. */
    private static final class AnswerAfterFin extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Void> requestRead = new CompletableFuture<>();
        final CompletableFuture<Throwable> written = new CompletableFuture<>();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            requestRead.complete(null);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                // A task: it runs after Netty finished the FIN's epoll event and emptied the interest set.
                ctx.executor().execute(() -> ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER_BYTES]))
                        .addListener(future -> {
                            written.complete(future.cause());
                            ((EpollSocketChannel) ctx.channel()).shutdownOutput();
                        }));
            }
            ctx.fireUserEventTriggered(event);
        }
    }

    @Test
    void nettyEpollStillFailsAWriteThatNeedsEpolloutAfterThePeersFin() throws Exception {
        assumeTrue(Epoll.isAvailable(), "epoll is not available here");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        AnswerAfterFin handler = new AnswerAfterFin();
        try {
            Channel listener = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    // Reading only when asked (backpressure, as Grace does): at the FIN, EPOLLIN is cleared too.
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(handler)
                    .bind("127.0.0.1", 0).sync().channel();
            Peer.ReadResult received;
            try (Peer client = Peer.connect((InetSocketAddress) listener.localAddress())) {
                client.send("go");
                // The FIN comes once the request was read and no other read is asked for.
                handler.requestRead.get(10, TimeUnit.SECONDS);
                client.halfClose();
                received = client.readToEnd();
            } finally {
                listener.close().sync();
            }
            Throwable writeFailure = handler.written.get(10, TimeUnit.SECONDS);

            String netty = Version.identify().getOrDefault("netty-transport-classes-epoll", null) == null
                    ? "this Netty" : "Netty " + Version.identify().get("netty-transport-classes-epoll").artifactVersion();
            assertThat(received.bytes().length)
                    .as("%s delivered all %d bytes written after the peer's FIN (%s, write failure %s): the epoll"
                            + " registration bug looks fixed, so EpollRegistrationRepair and its calls in grace-core"
                            + " can go, and this canary with them", netty, ANSWER_BYTES, received, writeFailure)
                    .isLessThan(ANSWER_BYTES);
            assertThat(writeFailure).as("the write that needed EPOLLOUT fails").isNotNull();
            assertThat(received.end()).as("and the truncated stream ends with a clean FIN").isEqualTo(Peer.ReadResult.End.FIN);
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).sync();
        }
    }
}
