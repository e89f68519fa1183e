package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testing.Protocols;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Kernel;
import dev.grace.testkit.Peer;
import dev.grace.testkit.Wire;
import io.netty.buffer.Unpooled;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Abort: SO_LINGER 0 then close. RST now, unsent data discarded, no TIME_WAIT anywhere. */
@ExtendWith(FdLeakCheck.class)
class AbortTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void abortMakesPeerReadFailWithResetAndLeavesNoTimeWait(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Wire wire = Wire.capture(server.port())) {
            Peer.ReadResult seen;
            int peerPort;
            try (Peer peer = Peer.connect(server.address())) {
                peerPort = peer.localPort();
                peer.send("hello");
                Connection connection = server.recorder.nextAccepted();
                CloseReport report = connection.abort().get(10, TimeUnit.SECONDS);
                seen = peer.readToEnd();

                assertThat(report.outcome()).isEqualTo(Outcome.ABORTED);
                assertThat(report.firstCloser()).isEqualTo(Side.LOCAL);
                assertThat(report.timeWaitHolder()).isEqualTo(Side.NONE);
                assertThat(report.delivery()).isEqualTo(Delivery.NOT_GUARANTEED);
                assertThat(connection.abort().get(10, TimeUnit.SECONDS)).as("abort is idempotent").isSameAs(report);
            }
            Wire.Packets packets = wire.stop();

            assertThat(seen.end()).as(seen.toString()).isEqualTo(Peer.ReadResult.End.RESET);
            assertThat(seen.error()).isEqualTo("Connection reset");
            assertThat(packets.resets()).as(packets.toString()).isPositive();
            assertThat(packets.fins()).as(packets.toString()).isZero();
            // Only this connection's: an earlier test's server may have had the same port.
            assertThat(Kernel.timeWait(server.port())).filteredOn(line -> line.contains(":" + peerPort + " ")).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void abortDiscardsWhatThePeerHadNotYetBeenSent(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            int bytes = 32 * 1024 * 1024;
            // The peer does not read: most of this stays in Netty's outbound buffer.
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[bytes]));
            CloseReport report = connection.abort().get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED);
            assertThat(report.discardedUnsent()).isPositive();
            assertThat(report.bytesOut() + report.discardedUnsent()).isEqualTo(bytes);
            assertThat(peer.readToEnd().end()).isEqualTo(Peer.ReadResult.End.RESET);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void abortOnceDeliveredResetsOnlyAfterThePeerHasEverything(Transport transport) throws Exception {
        byte[] payload = new byte[2 * 1024 * 1024];
        new java.util.Random(8).nextBytes(payload);
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address(), 16 * 1024)) {
            Connection connection = server.recorder.nextAccepted();
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(payload));
            java.util.concurrent.CompletableFuture<CloseReport> closed = connection.abortOnceDelivered(java.time.Duration.ofSeconds(10));
            int headBytes = 0;
            if (transport == Transport.EPOLL) {
                // The peer reads slowly at first: most of the payload is still on our side.
                headBytes = peer.readExactly(64 * 1024).length;
                assertThat(closed).isNotDone();
            }
            // On NIO the RST goes once the writes reached our kernel, which may hold them all.
            Peer.ReadResult rest = peer.readToEnd();
            CloseReport report = closed.get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED);
            assertThat(rest.end()).isEqualTo(Peer.ReadResult.End.RESET);
            if (transport == Transport.EPOLL) {
                assertThat(headBytes + rest.bytes().length).as("every byte arrived before the RST").isEqualTo(payload.length);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void theAbortOnceDeliveredModeDeliversThenResets(Transport transport) throws Exception {
        byte[] payload = new byte[64 * 1024];
        new java.util.Random(9).nextBytes(payload);
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(payload));
            CloseReport report = connection.close(CloseMode.ABORT_ONCE_DELIVERED, java.time.Duration.ofSeconds(10))
                    .get(10, TimeUnit.SECONDS);
            Peer.ReadResult seen = peer.readToEnd();

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED);
            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.RESET);
            if (transport == Transport.EPOLL) {
                // On NIO the RST goes once the writes reached our kernel, maybe before the peer read them.
                assertThat(seen.bytes()).as("everything written, then the RST").isEqualTo(payload);
            }
        }
    }
}
