package dev.grace.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Transport;
import dev.grace.server.DrainReport;
import dev.grace.testkit.FdLeakCheck;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A WebSocket through a drain: a close frame with 1001, the client's close frame, then the server's FIN. */
@ExtendWith(FdLeakCheck.class)
class WebSocketDrainTest {

    static Stream<Transport> transports() {
        return Stream.of(Transport.values()).filter(Transport::isAvailable);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void theDrainSaysGoingAwayAndClosesAfterTheClientsCloseFrame(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                WsClient client = new WsClient(server.address())) {
            client.log.await("OPEN");
            client.send(new TextWebSocketFrame("hello"));
            client.log.await("TEXT hello");
            CompletableFuture<DrainReport> drain = server.server.stop();
            client.log.await("CLOSE 1001");
            // Still open, and still busy, until the client answers.
            assertThat(drain).isNotDone();
            client.send(new CloseWebSocketFrame(1000, "bye"));
            client.log.await("FIN");
            client.close();
            DrainReport report = drain.get(15, TimeUnit.SECONDS);

            assertThat(report.graceful()).isEqualTo(1);
            assertThat(report.requests().goodbyes()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aCloseFromTheClientIsAnsweredThenTheServerSendsFin(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                WsClient client = new WsClient(server.address())) {
            client.log.await("OPEN");
            client.send(new CloseWebSocketFrame(1000, "done"));
            client.log.await("CLOSE 1000");
            client.log.await("FIN");
            client.close();

            assertThat(server.nextClosed().outcome().isClean()).isTrue();
        }
    }
}
