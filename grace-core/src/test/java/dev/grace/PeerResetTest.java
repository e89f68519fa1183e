package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testing.Protocols;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * With ALLOW_HALF_CLOSURE a peer's RST reaches Netty as input shutdown, exactly like a FIN.
 * Grace must report it as PEER_RESET, whatever it was doing at the time, on both transports.
 */
@ExtendWith(FdLeakCheck.class)
class PeerResetTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void resetWhileReadingIsPeerResetNeverFin(Transport transport) throws Exception {
        Protocols.Sink sink = Protocols.sink();
        try (TestServer server = TestServer.start(transport, sink)) {
            Peer peer = Peer.connect(server.address());
            peer.send("some of a request");
            assertThat(sink.nextReceived()).isEqualTo("some of a request");
            peer.reset();
            CloseReport report = server.recorder.nextClosed();

            assertThat(report.outcome()).isEqualTo(Outcome.PEER_RESET);
            assertThat(report.firstCloser()).isEqualTo(Side.PEER);
            assertThat(report.timeWaitHolder()).isEqualTo(Side.NONE);
            assertThat(report.cause()).isNotNull();
            assertThat(server.recorder.events()).doesNotContain("OPEN->PEER_FIN_RECEIVED");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void resetWhileWritingIsPeerReset(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, Protocols.sink())) {
            Peer peer = Peer.connect(server.address());
            Connection connection = server.recorder.nextAccepted();
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[16 * 1024 * 1024]));
            peer.readExactly(64 * 1024);
            peer.reset();
            CloseReport report = server.recorder.nextClosed();

            assertThat(report.outcome()).isEqualTo(Outcome.PEER_RESET);
            assertThat(report.discardedUnsent()).isPositive();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void resetInsteadOfFinDuringLingeringCloseIsPeerReset(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, Protocols.sink())) {
            Peer peer = Peer.connect(server.address());
            Connection connection = server.recorder.nextAccepted();
            connection.closeGracefully(Duration.ofSeconds(10));
            assertThat(peer.socket().getInputStream().read()).as("our FIN").isEqualTo(-1);
            peer.reset();
            CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(Outcome.PEER_RESET);
            assertThat(report.firstCloser()).isEqualTo(Side.LOCAL);
            assertThat(report.timeWaitHolder()).isEqualTo(Side.NONE);
        }
    }
}
