package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.Outcome;
import dev.grace.Side;
import dev.grace.Transport;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(FdLeakCheck.class)
class EchoProtocolTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void echoesEveryByteAndAnswersTheClientsFinWithItsOwn(Transport transport) throws Exception {
        byte[] payload = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(payload);
        try (TestServer server = TestServer.start(transport, new EchoProtocol());
                Peer peer = Peer.connect(server.address())) {
            Thread writer = new Thread(() -> {
                try {
                    peer.send(payload);
                    peer.halfClose();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            writer.start();
            Peer.ReadResult echoed = peer.readToEnd();
            writer.join(10_000);

            assertThat(echoed.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(echoed.bytes()).isEqualTo(payload);
            CloseReport report = server.recorder.nextClosed();
            assertThat(report.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.firstCloser()).isEqualTo(Side.PEER);
            assertThat(report.timeWaitHolder()).isEqualTo(Side.PEER);
            assertThat(report.bytesIn()).isEqualTo(payload.length);
            assertThat(report.bytesOut()).isEqualTo(payload.length);
            assertThat(report.discardedUnsent()).isZero();
            assertThat(report.discardedInbound()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void clientThatNeverReadsCannotGrowServerMemory(Transport transport) throws Exception {
        try (TestServer server = TestServer.start(transport, new EchoProtocol());
                SocketChannel client = SocketChannel.open(server.address())) {
            client.setOption(StandardSocketOptions.SO_LINGER, 0);
            client.configureBlocking(false);
            Connection connection = server.recorder.nextAccepted();
            ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
            long sent = 0;
            int stalls = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            // Write until the kernel refuses more for a while: every buffer on the way is full.
            while (stalls < 200 && System.nanoTime() < deadline) {
                chunk.clear();
                int n = client.write(chunk);
                sent += n;
                if (n == 0) {
                    stalls++;
                    Thread.onSpinWait();
                    Thread.sleep(1);
                } else {
                    stalls = 0;
                }
            }
            long held = connection.bytesIn() - connection.bytesOut();
            assertThat(sent).as("bytes the client managed to send").isGreaterThan(256 * 1024);
            assertThat(held).as("bytes read by the server but not yet in its kernel").isLessThanOrEqualTo(64 * 1024);
        }
    }
}
