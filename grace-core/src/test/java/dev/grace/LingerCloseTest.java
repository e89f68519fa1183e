package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testing.Protocols;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Linger close: flush up to a deadline, then RST. Built from a timer on the event loop, never
 * from kernel SO_LINGER &gt; 0, which blocks the closing thread and on Linux does not even send
 * the RST when its time runs out.
 */
@ExtendWith(FdLeakCheck.class)
class LingerCloseTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aLaterRequestNeverPushesTheCloseDeadlineBack(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            // The peer never reads: nothing can be delivered, so only a deadline ends this.
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[32 * 1024 * 1024]));
            long startNanos = System.nanoTime();
            connection.lingerClose(Duration.ofMillis(500));
            connection.abortOnceDelivered(Duration.ofSeconds(60));
            connection.closeGracefully(Duration.ofSeconds(60));
            CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
            assertThat(elapsedMillis).as("the first, earliest deadline held").isBetween(450L, 3_000L);
            assertThat(peer.readToEnd().end()).isEqualTo(Peer.ReadResult.End.RESET);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void peerThatStoppedReadingGetsResetAtTheDeadline(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[32 * 1024 * 1024]));
            long startNanos = System.nanoTime();
            CloseReport report = connection.lingerClose(Duration.ofMillis(500)).get(10, TimeUnit.SECONDS);
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
            Peer.ReadResult seen = peer.readToEnd();

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
            assertThat(report.discardedUnsent()).isPositive();
            assertThat(report.timeWaitHolder()).isEqualTo(Side.NONE);
            assertThat(elapsedMillis).as("RST at about the deadline").isBetween(450L, 3_000L);
            assertThat(seen.end()).as(seen.toString()).isEqualTo(Peer.ReadResult.End.RESET);
            assertThat(seen.bytes().length).isPositive().isLessThan(32 * 1024 * 1024);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void readingPeerGetsEverythingThenFinAndNoWaitForItsFin(Transport transport) throws Exception {
        byte[] payload = new byte[1024 * 1024];
        new Random(3).nextBytes(payload);
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            CompletableFuture<Peer.ReadResult> seen = CompletableFuture.supplyAsync(peer::readToEnd);
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(payload));
            CloseReport report = connection.lingerClose(Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);

            assertThat(seen.get(10, TimeUnit.SECONDS).end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(seen.get().bytes()).isEqualTo(payload);
            assertThat(report.outcome()).as("closed without the peer's FIN").isEqualTo(Outcome.FIN_SENT);
            assertThat(report.timeWaitHolder()).isEqualTo(Side.LOCAL);
            assertThat(report.delivery()).isEqualTo(transport == Transport.EPOLL ? Delivery.CONFIRMED : Delivery.FLUSHED_TO_KERNEL);
            assertThat(report.bytesOut()).isEqualTo(payload.length);
        }
    }
}
