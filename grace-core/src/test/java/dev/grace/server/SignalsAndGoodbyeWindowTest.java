package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Connection;
import dev.grace.Outcome;
import dev.grace.Transport;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What a library user gets without the CLI: signals that drain, and a goodbye window for idle connections. */
@ExtendWith(FdLeakCheck.class)
class SignalsAndGoodbyeWindowTest {
    private static final Duration WINDOW = Duration.ofMillis(300);

    /** Answers each read with "answer"; on drain holds idle connections open for {@link #WINDOW}. */
    private static final class HoldsForAGoodbye implements Protocol {
        @Override
        public void connectionOpened(Connection connection) {
            connection.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ReferenceCountUtil.release(msg);
                    connection.markBusy();
                    ByteBuf answer = Unpooled.copiedBuffer("answer", StandardCharsets.US_ASCII);
                    ctx.writeAndFlush(answer).addListener((ChannelFutureListener) f -> connection.markIdle());
                }
            });
        }

        @Override
        public void drainStarted(Connection connection) {
            connection.holdOpen(WINDOW);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void anIdleConnectionHeldForAGoodbyeGetsItsFinOnlyAfterTheWindow(Transport transport) throws Exception {
        Server server = Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1), new HoldsForAGoodbye());
        try (Peer peer = Peer.connect(server.localAddress())) {
            peer.send("ping");
            assertThat(new String(peer.readExactly(6), StandardCharsets.US_ASCII)).isEqualTo("answer");
            long stopAt = System.nanoTime();
            CompletableFuture<DrainReport> drain = server.stop();
            Peer.ReadResult rest = peer.readToEnd();
            long heldMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopAt);
            peer.close();

            assertThat(rest.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(heldMillis).as("held for the window").isGreaterThanOrEqualTo(WINDOW.toMillis());
            assertThat(drain.get(10, TimeUnit.SECONDS).graceful()).isEqualTo(1);
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aRequestArrivingInTheWindowIsAnsweredBeforeTheFin(Transport transport) throws Exception {
        Server server = Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1), new HoldsForAGoodbye());
        try (Peer peer = Peer.connect(server.localAddress())) {
            peer.send("first");
            peer.readExactly(6);
            CompletableFuture<DrainReport> drain = server.stop();
            peer.send("second, during the window");
            Peer.ReadResult rest = peer.readToEnd();
            peer.close();

            assertThat(rest.text()).isEqualTo("answer");
            assertThat(rest.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(drain.get(10, TimeUnit.SECONDS).count(Outcome.FIN_BOTH_WAYS)).isEqualTo(1);
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void sigtermDrainsAServerThatAskedForSignals() throws Exception {
        Server server = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol()).stopOnSignals();
        try (Peer peer = Peer.connect(server.localAddress())) {
            peer.send("x");
            peer.readExactly(1);
            Process kill = new ProcessBuilder("kill", "-TERM", String.valueOf(ProcessHandle.current().pid())).start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(peer.readToEnd().end()).as("the drain's FIN").isEqualTo(Peer.ReadResult.End.FIN);
            peer.close();
            DrainReport report = server.terminationFuture().get(10, TimeUnit.SECONDS);

            assertThat(report.graceful()).isEqualTo(1);
            assertThat(server.isReady()).isFalse();
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }
}
