package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testing.Protocols;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Half-close: one direction ends with FIN, the other carries on. */
@ExtendWith(FdLeakCheck.class)
class HalfCloseTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void peerReadsEofAndCanStillSendAndWeStillReceive(Transport transport) throws Exception {
        Protocols.Sink sink = Protocols.sink();
        try (TestServer server = TestServer.start(transport, sink);
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.channel().writeAndFlush(Unpooled.copiedBuffer("bye for now", StandardCharsets.UTF_8));
            connection.shutdownOutput().get(10, TimeUnit.SECONDS);
            assertThat(connection.state()).isEqualTo(ConnectionState.FIN_SENT);

            byte[] greeting = peer.readExactly("bye for now".length());
            assertThat(peer.socket().getInputStream().read()).as("EOF after our FIN").isEqualTo(-1);
            peer.send("but I still have something to say");
            assertThat(sink.nextReceived()).isEqualTo("but I still have something to say");
            peer.halfClose();
            CloseReport report = server.recorder.nextClosed();

            assertThat(new String(greeting, StandardCharsets.UTF_8)).isEqualTo("bye for now");
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.firstCloser()).isEqualTo(Side.LOCAL);
            assertThat(report.timeWaitHolder()).isEqualTo(Side.LOCAL);
            assertThat(report.discardedInbound()).as("half-close delivers input, it does not discard it").isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void afterThePeersFinWeReadEofAndCanStillAnswer(Transport transport) throws Exception {
        Protocols.Sink sink = Protocols.sink();
        try (TestServer server = TestServer.start(transport, sink);
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            peer.send("question");
            peer.halfClose();
            assertThat(sink.awaitPeerFin()).isSameAs(connection);
            assertThat(connection.state()).isEqualTo(ConnectionState.PEER_FIN_RECEIVED);

            connection.channel().writeAndFlush(Unpooled.copiedBuffer("answer", StandardCharsets.UTF_8));
            connection.shutdownOutput();
            Peer.ReadResult answer = peer.readToEnd();
            CloseReport report = server.recorder.nextClosed();

            assertThat(answer.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(answer.text()).isEqualTo("answer");
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.firstCloser()).isEqualTo(Side.PEER);
        }
    }

    /**
     * After the peer's FIN, Netty 4.2's epoll transport drops the socket from epoll when nothing
     * else is of interest, and then fails the next write that has to wait for buffer space (see
     * EpollRegistrationRepair): the stream was cut and ended with a FIN.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void afterThePeersFinWeCanStillSendMoreThanTheBuffersHold(Transport transport) throws Exception {
        Protocols.Sink sink = Protocols.sink();
        byte[] chunk = new byte[64 * 1024];
        new java.util.Random(12).nextBytes(chunk);
        int chunks = 256;
        try (TestServer server = TestServer.start(transport, sink);
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            peer.halfClose();
            sink.awaitPeerFin();
            // One chunk at a time, each after the previous reached the kernel, while the peer is
            // not reading yet: the socket fills, and every later write waits for EPOLLOUT.
            java.util.concurrent.CompletableFuture<Void> sent = new java.util.concurrent.CompletableFuture<>();
            Runnable[] next = new Runnable[1];
            int[] written = {0};
            next[0] = () -> connection.channel().writeAndFlush(Unpooled.wrappedBuffer(chunk)).addListener(f -> {
                if (!f.isSuccess()) {
                    sent.completeExceptionally(f.cause());
                } else if (++written[0] < chunks) {
                    next[0].run();
                } else {
                    sent.complete(null);
                }
            });
            connection.channel().eventLoop().execute(next[0]);
            java.util.concurrent.CompletableFuture<Peer.ReadResult> received =
                    java.util.concurrent.CompletableFuture.supplyAsync(peer::readToEnd);
            sent.get(30, TimeUnit.SECONDS);
            connection.shutdownOutput();
            Peer.ReadResult seen = received.get(30, TimeUnit.SECONDS);
            CloseReport report = server.recorder.nextClosed();

            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(seen.bytes()).hasSize(chunks * chunk.length);
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.bytesOut()).isEqualTo((long) chunks * chunk.length);
        }
    }

    /**
     * Past our FIN no byte can reach the peer: a write then is refused, as Netty refuses it after
     * its own shutdownOutput(), and the connection ends in error. On epoll Grace sends that FIN
     * itself (DirectFin), so it is Grace that must refuse.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aWriteAfterOurFinIsRefusedAndTheConnectionEndsInError(Transport transport) throws Exception {
        Protocols.Sink sink = Protocols.sink();
        try (TestServer server = TestServer.start(transport, sink);
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.channel().writeAndFlush(Unpooled.copiedBuffer("last words", StandardCharsets.UTF_8));
            connection.shutdownOutput().get(10, TimeUnit.SECONDS);
            io.netty.buffer.ByteBuf late = Unpooled.copiedBuffer("too late", StandardCharsets.UTF_8);
            io.netty.channel.ChannelFuture refused = connection.channel().writeAndFlush(late);

            assertThat(refused.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(refused.isSuccess()).as("a write after our FIN").isFalse();
            assertThat(late.refCnt()).as("the refused buffer is released").isZero();
            assertThat(peer.readExactly("last words".length())).asString(StandardCharsets.UTF_8).isEqualTo("last words");
            assertThat(peer.socket().getInputStream().read()).as("EOF after our FIN").isEqualTo(-1);
            CloseReport report = server.recorder.nextClosed();
            assertThat(report.outcome()).isEqualTo(Outcome.ERROR);
            assertThat(report.bytesOut()).isEqualTo("last words".length());
        }
    }

    /** Handlers after Grace learn of its FIN as they would of Netty's: ChannelOutputShutdownEvent, once. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void theHandlersAfterGraceAreToldOfOurFinOnce(Transport transport) throws Exception {
        Protocols.Sink sink = Protocols.sink();
        try (TestServer server = TestServer.start(transport, sink);
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            java.util.concurrent.atomic.AtomicInteger told = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.CompletableFuture<ConnectionState> stateWhenTold = new java.util.concurrent.CompletableFuture<>();
            connection.channel().pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object event) {
                    if (event instanceof io.netty.channel.socket.ChannelOutputShutdownEvent) {
                        told.incrementAndGet();
                        stateWhenTold.complete(connection.state());
                    }
                    ctx.fireUserEventTriggered(event);
                }
            });
            connection.shutdownOutput().get(10, TimeUnit.SECONDS);
            assertThat(stateWhenTold.get(10, TimeUnit.SECONDS)).isEqualTo(ConnectionState.FIN_SENT);
            assertThat(peer.socket().getInputStream().read()).as("EOF after our FIN").isEqualTo(-1);
            peer.halfClose();
            assertThat(server.recorder.nextClosed().outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(told).hasValue(1);
        }
    }
}
