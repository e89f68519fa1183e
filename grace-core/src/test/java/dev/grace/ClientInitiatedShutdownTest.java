package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.server.Protocol;
import dev.grace.server.ServerOptions;
import dev.grace.testing.Recorder;
import dev.grace.testing.TestServer;
import dev.grace.testkit.EventLog;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Kernel;
import dev.grace.testkit.Peer;
import dev.grace.testkit.Wire;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The client-initiated graceful shutdown sequence of the socket-shutdown literature, observed
 * step by step on both sides and on the wire:
 * (1) client shutdown(SEND); (2) server reads EOF; (3) server sends its remaining data;
 * (4) server shutdown(SEND); (5) client reads that data, then EOF; (6) both close.
 */
@ExtendWith(FdLeakCheck.class)
class ClientInitiatedShutdownTest {
    private static final String REQUEST = "how many bytes did I send?";

    /** Counts the request; answers after the client's FIN, then half-closes through Grace. */
    private static Protocol answerAfterEof(EventLog log) {
        return connection -> connection.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
            long received;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                received += ((ByteBuf) msg).readableBytes();
                ((ByteBuf) msg).release();
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof ChannelInputShutdownEvent) {
                    log.add("server", "read EOF after " + received + " bytes");
                    log.add("server", "send remaining data");
                    ctx.writeAndFlush(Unpooled.copiedBuffer("you sent " + received + " bytes", StandardCharsets.UTF_8));
                    log.add("server", "shutdown(SEND)");
                    connection.shutdownOutput();
                }
                ctx.fireUserEventTriggered(event);
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void eachStepHappensInOrderOnBothSidesWithoutReset(Transport transport) throws Exception {
        EventLog log = new EventLog();
        Recorder recorder = new Recorder();
        try (TestServer server = TestServer.start(ServerOptions.defaults().withTransport(transport), answerAfterEof(log), recorder);
                Wire wire = Wire.capture(server.port())) {
            int clientPort;
            CloseReport report;
            try (Peer client = Peer.connect(server.address())) {
                clientPort = client.localPort();
                client.send(REQUEST);
                log.add("client", "shutdown(SEND)");
                client.halfClose();
                Peer.ReadResult response = client.readToEnd();
                log.add("client", "read " + response.text() + ", then " + response.end());
                report = recorder.nextClosed();
                log.add("client", "close");
            }
            Wire.Packets packets = wire.stop();

            assertThat(log.steps()).as(log.toString()).containsExactly(
                    "client: shutdown(SEND)",
                    "server: read EOF after " + REQUEST.length() + " bytes",
                    "server: send remaining data",
                    "server: shutdown(SEND)",
                    "client: read you sent " + REQUEST.length() + " bytes, then FIN",
                    "client: close");
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.firstCloser()).isEqualTo(Side.PEER);
            assertThat(report.timeWaitHolder()).isEqualTo(Side.PEER);
            assertThat(report.bytesIn()).isEqualTo(REQUEST.length());
            assertThat(report.discardedUnsent()).isZero();
            assertThat(packets.resets()).as(packets.toString()).isZero();
            assertThat(packets.fins()).as(packets.toString()).isEqualTo(2);
            List<String> timeWait = Kernel.timeWait(server.port());
            // Only this connection's: an earlier test's server may have had the same port.
            assertThat(timeWait).as("the client sent the first FIN, so it holds TIME_WAIT")
                    .filteredOn(line -> line.contains(":" + clientPort + " "))
                    .hasSize(1)
                    .allMatch(line -> line.matches(".*:" + clientPort + "\\s+\\S+:" + server.port() + "\\s*$"));
        }
    }
}
