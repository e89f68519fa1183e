package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.server.ServerOptions;
import dev.grace.testing.Protocols;
import dev.grace.testing.Recorder;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every state on the way to CLOSED has a deadline. The kernel never times out a FIN_WAIT2 whose
 * socket is open, nor a CLOSE_WAIT: without these timers a silent peer holds a socket forever.
 */
@ExtendWith(FdLeakCheck.class)
class DeadlinesTest {
    private static final Duration SHORT = Duration.ofMillis(300);

    private static TestServer server(Transport transport, ConnectionOptions options) throws Exception {
        return TestServer.start(ServerOptions.defaults().withTransport(transport).withConnection(options),
                Protocols.sink(), new Recorder());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void peerHalfClosedAndWeStaySilentIsAbortedAfterTheHalfClosedTimeout(Transport transport) throws Exception {
        try (TestServer server = server(transport, ConnectionOptions.defaults().withHalfClosedTimeout(SHORT));
                Peer peer = Peer.connect(server.address())) {
            peer.halfClose();
            CloseReport report = server.recorder.nextClosed();

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
            assertThat(report.firstCloser()).isEqualTo(Side.PEER);
            assertThat(report.duration()).isGreaterThanOrEqualTo(SHORT);
            assertThat(peer.readToEnd().end()).as("no response is not a complete response").isEqualTo(Peer.ReadResult.End.RESET);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aZeroHalfClosedTimeoutIsOffNotImmediate(Transport transport) throws Exception {
        try (TestServer bounded = server(transport, ConnectionOptions.defaults().withHalfClosedTimeout(SHORT));
                TestServer unbounded = server(transport, ConnectionOptions.defaults().withHalfClosedTimeout(Duration.ZERO));
                Peer toBounded = Peer.connect(bounded.address());
                Peer toUnbounded = Peer.connect(unbounded.address())) {
            Connection off = unbounded.recorder.nextAccepted();
            toUnbounded.halfClose();
            toBounded.halfClose();
            // The bounded twin, half-closed later, times out first: by then SHORT has passed for both.
            assertThat(bounded.recorder.nextClosed().outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);

            assertThat(off.closeFuture()).as("zero means no half-closed timeout").isNotDone();
            assertThat(off.state()).isEqualTo(ConnectionState.PEER_FIN_RECEIVED);
            off.shutdownOutput();
            assertThat(toUnbounded.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(off.closeFuture().get(10, TimeUnit.SECONDS).outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void weHalfClosedAndPeerNeverSendsFinIsAbortedAfterTheHalfClosedTimeout(Transport transport) throws Exception {
        try (TestServer server = server(transport, ConnectionOptions.defaults().withHalfClosedTimeout(SHORT));
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.shutdownOutput().get(10, TimeUnit.SECONDS);
            assertThat(peer.socket().getInputStream().read()).isEqualTo(-1);
            CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
            assertThat(report.firstCloser()).isEqualTo(Side.LOCAL);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void idleTimeoutClosesGracefully(Transport transport) throws Exception {
        try (TestServer server = server(transport, ConnectionOptions.defaults().withIdleTimeout(SHORT));
                Peer peer = Peer.connect(server.address())) {
            peer.send("one request, then silence");
            Peer.ReadResult seen = peer.readToEnd();
            peer.close();
            CloseReport report = server.recorder.nextClosed();

            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.firstCloser()).isEqualTo(Side.LOCAL);
            assertThat(report.duration()).isGreaterThanOrEqualTo(SHORT);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void applicationCloseIsGracefulAndBoundedByTheCloseTimeout(Transport transport) throws Exception {
        try (TestServer server = server(transport, ConnectionOptions.defaults().withCloseTimeout(SHORT));
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.channel().close();
            assertThat(peer.socket().getInputStream().read()).as("our FIN first").isEqualTo(-1);
            // The peer never sends its FIN: the lingering close ends at the close timeout.
            CloseReport report = connection.closeFuture().get(10, TimeUnit.SECONDS);

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
            // After a FIN, Linux reads return EOF forever: the RST that followed shows on a write.
            assertThat(peer.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(peer.awaitResetOnWrite()).isIn("Broken pipe", "Connection reset by peer");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void everyCloseRequestAfterTheFirstIsHarmlessAndAbortOverridesAGracefulClose(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, Protocols.sink());
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            connection.closeGracefully(Duration.ofSeconds(30));
            connection.closeGracefully(Duration.ofSeconds(30));
            connection.shutdownOutput();
            assertThat(peer.socket().getInputStream().read()).isEqualTo(-1);
            CloseReport report = connection.abort().get(10, TimeUnit.SECONDS);
            connection.lingerClose(Duration.ofSeconds(1));
            connection.channel().close().sync();

            assertThat(report.outcome()).isEqualTo(Outcome.ABORTED);
            assertThat(connection.closeFuture().get()).isSameAs(report);
            assertThat(server.recorder.events()).containsExactly("OPEN->FLUSHING", "FLUSHING->LINGERING", "LINGERING->CLOSED");
        }
    }
}
