package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.grace.server.ServerOptions;
import dev.grace.testing.Protocols;
import dev.grace.testing.Recorder;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.buffer.Unpooled;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Delivery-confirmed close: on epoll a graceful close completes only once the peer's TCP
 * acknowledged every byte and our FIN; on NIO Grace cannot see acknowledgements and says the
 * bytes were only flushed to the kernel.
 */
@ExtendWith(FdLeakCheck.class)
class DeliveryConfirmationTest {
    private static final int PAYLOAD = 256 * 1024;

    private static TestServer confirmingServer(Transport transport) throws Exception {
        ServerOptions options = ServerOptions.defaults().withTransport(transport)
                .withConnection(ConnectionOptions.defaults().withConfirmDelivery(true));
        return TestServer.start(options, Protocols.sink(), new Recorder());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void reportSaysWhetherDeliveryWasConfirmedOrOnlyFlushed(Transport transport) throws Exception {
        try (TestServer server = confirmingServer(transport);
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            CompletableFuture<Peer.ReadResult> seen = CompletableFuture.supplyAsync(peer::readToEnd);
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[PAYLOAD]));
            connection.closeGracefully(Duration.ofSeconds(10));
            assertThat(seen.get(10, TimeUnit.SECONDS).bytes()).hasSize(PAYLOAD);
            peer.close();
            CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.delivery()).isEqualTo(transport == Transport.EPOLL ? Delivery.CONFIRMED : Delivery.FLUSHED_TO_KERNEL);
            assertThat(report.unackedSegmentsAtClose()).isEqualTo(transport == Transport.EPOLL ? 0 : -1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void confirmedCloseWaitsUntilAPeerThatStoppedReadingReadsAgain(Transport transport) throws Exception {
        assumeTrue(transport == Transport.EPOLL, "only epoll can see acknowledgements");
        try (TestServer server = confirmingServer(transport); Socket peer = new Socket()) {
            peer.setReceiveBufferSize(4096);
            peer.connect(server.address());
            peer.setSoTimeout(Peer.READ_TIMEOUT_MILLIS);
            peer.shutdownOutput();
            Connection connection = server.recorder.nextAccepted();
            // 64 KiB cannot all be acknowledged by a peer whose receive window is 4 KiB and
            // which does not read: the close must still be waiting.
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[64 * 1024]));
            CompletableFuture<CloseReport> closed = connection.closeGracefully(Duration.ofSeconds(10));
            server.recorder.awaitState(ConnectionState.FLUSHING);
            assertThat(closed).isNotDone();

            assertThat(peer.getInputStream().readAllBytes()).hasSize(64 * 1024);
            CloseReport report = closed.get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.delivery()).isEqualTo(Delivery.CONFIRMED);
            assertThat(report.firstCloser()).as("%s %s", report, server.recorder.events()).isEqualTo(Side.PEER);
        }
    }

}
