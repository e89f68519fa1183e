package dev.grace.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Outcome;
import dev.grace.Transport;
import dev.grace.server.DrainReport;
import dev.grace.testkit.FdLeakCheck;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** HTTP/2 through a drain: the two-phase GOAWAY, streams finished, then FIN; at the deadline, cancelled then reset. */
@ExtendWith(FdLeakCheck.class)
class Http2DrainTest {
    private static final String FIRST_GOAWAY = "GOAWAY last=" + Integer.MAX_VALUE + " error=0";

    static Stream<Transport> transports() {
        return Stream.of(Transport.values()).filter(Transport::isAvailable);
    }

    private static long pingData(String ping) {
        return Long.parseLong(ping.substring(ping.indexOf("data=") + 5));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void streamsOpenedBeforeTheClientSawTheGoawayAreServedThenFin(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                H2Client client = new H2Client(server.address(), false)) {
            int early = client.get("/delay/300");
            assertThat(TestApp.nextArrived()).isEqualTo("/delay/300");
            CompletableFuture<DrainReport> drain = server.server.stop();
            client.ackPing(pingData(client.log.await("PING ack=false")));
            client.log.await(FIRST_GOAWAY);
            long ping = pingData(client.log.await("PING ack=false"));
            // Sent after the first GOAWAY left the server, before the client answered its PING.
            int late = client.get("/delay/10");
            client.ackPing(ping);
            String finalGoAway = client.log.await("GOAWAY last=");
            client.log.await("FIN");
            client.close();
            DrainReport report = drain.get(15, TimeUnit.SECONDS);

            assertThat(finalGoAway).isEqualTo("GOAWAY last=" + late + " error=0");
            assertThat(client.log.all()).contains("HEADERS " + early + " 200", "DATA " + early + " end",
                    "HEADERS " + late + " 200", "DATA " + late + " end");
            assertThat(client.log.all()).noneMatch(e -> e.startsWith("RST_STREAM") || e.equals("RESET"));
            assertThat(client.log.all().indexOf("FIN")).isGreaterThan(client.log.all().indexOf("DATA " + early + " end"));
            assertThat(report.graceful()).isEqualTo(1);
            assertThat(report.requests().goodbyes()).isEqualTo(1);
            assertThat(report.requests().finished()).isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aStreamThatEndsWhileTheGoawaysAreExchangedReachesTheClientAfterTheLastGoaway(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                H2Client client = new H2Client(server.address(), false)) {
            TestApp.answered.clear();
            int stream = client.get("/delay/300");
            assertThat(TestApp.nextArrived()).isEqualTo("/delay/300");
            CompletableFuture<DrainReport> drain = server.server.stop();
            long fence = pingData(client.log.await("PING ack=false"));
            assertThat(TestApp.answered.poll(10, TimeUnit.SECONDS)).isEqualTo("/delay/300");
            client.ackPing(fence);
            client.log.await(FIRST_GOAWAY);
            client.ackPing(pingData(client.log.await("PING ack=false")));
            String finalGoAway = "GOAWAY last=" + stream + " error=0";
            client.log.await(finalGoAway);
            client.log.await("DATA " + stream + " end");
            client.log.await("FIN");
            client.close();

            // A client that read the stream's end first would open its next stream, then refuse it on
            // reading the GOAWAY; or, with nothing open, close before the last GOAWAY reached it.
            assertThat(client.log.all().indexOf(finalGoAway)).isLessThan(client.log.all().indexOf("HEADERS " + stream + " 200"));
            assertThat(drain.get(15, TimeUnit.SECONDS).graceful()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aClientThatNeverAcknowledgesThePingIsWaitedForAtMostASecond(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                H2Client client = new H2Client(server.address(), false)) {
            int stream = client.get("/delay/100");
            TestApp.nextArrived();
            server.server.stop();
            client.log.await(FIRST_GOAWAY);
            long firstAt = System.nanoTime();
            String finalGoAway = client.log.await("GOAWAY last=");
            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - firstAt);

            assertThat(finalGoAway).isEqualTo("GOAWAY last=" + stream + " error=0");
            assertThat(waitedMillis).isBetween(Http2Drain.PING_ACK_WAIT.toMillis() - 100, Http2Drain.PING_ACK_WAIT.toMillis() + 1500);
            client.log.await("FIN");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void anIdleConnectionClosesRightAfterTheSecondGoaway(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                H2Client client = new H2Client(server.address(), true)) {
            int stream = client.get("/");
            client.log.await("DATA");
            CompletableFuture<DrainReport> drain = server.server.stop();
            client.log.await(FIRST_GOAWAY);
            client.log.await("GOAWAY last=" + stream + " error=0");
            client.log.await("FIN");
            client.close();

            assertThat(drain.get(15, TimeUnit.SECONDS).graceful()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aStreamWhoseApplicationThrowsGets500AndTheConnectionServesOn(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                H2Client client = new H2Client(server.address(), true)) {
            int failing = client.get("/throw");
            client.log.await("HEADERS " + failing + " 500");
            int next = client.get("/after");
            client.log.await("HEADERS " + next + " 200");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void atTheDeadlineOpenStreamsAreCancelledThenTheConnectionIsReset(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport, Duration.ofSeconds(1));
                H2Client client = new H2Client(server.address(), true)) {
            int stream = client.get("/delay/20000");
            TestApp.nextArrived();
            CompletableFuture<DrainReport> drain = server.server.stop();
            client.log.await("RST_STREAM " + stream + " error=8");
            client.log.await("GOAWAY last=" + stream + " error=8");
            client.log.await("RESET");
            DrainReport report = drain.get(15, TimeUnit.SECONDS);

            assertThat(report.count(Outcome.ABORTED_AT_DEADLINE)).isEqualTo(1);
            assertThat(client.log.all()).doesNotContain("HEADERS " + stream + " 200");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aConnectionUpgradedToH2cGetsTheGoawayToo(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                java.net.Socket client = new java.net.Socket("127.0.0.1", server.address().getPort())) {
            client.setSoTimeout(10_000);
            var out = client.getOutputStream();
            var in = new java.io.DataInputStream(client.getInputStream());
            out.write(("GET /delay/300 HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    + "HTTP2-Settings: \r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.flush();
            String head = new String(in.readNBytes(34), java.nio.charset.StandardCharsets.US_ASCII);
            assertThat(head).startsWith("HTTP/1.1 101 Switching Protocols");
            while (in.read() != '\n' || in.read() != '\r' || in.read() != '\n') {
                // to the end of the 101's head
            }
            // The preface follows the 101 (RFC 9113, 3.1).
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});   // an empty SETTINGS frame
            out.flush();
            assertThat(TestApp.nextArrived()).isEqualTo("/delay/300");
            CompletableFuture<DrainReport> drain = server.server.stop();

            java.util.List<Integer> types = new java.util.ArrayList<>();
            for (int frame = 0; frame < 64; frame++) {
                int length;
                try {
                    length = (in.readUnsignedShort() << 8) | in.readUnsignedByte();
                } catch (java.io.EOFException fin) {
                    types.add(-1);
                    break;
                }
                int type = in.readUnsignedByte();
                in.readNBytes(5);   // flags, stream id
                byte[] payload = in.readNBytes(length);
                types.add(type);
                if (type == 6 && (payload.length == 8)) {   // our PING: answer it, as a client does
                    out.write(new byte[] {0, 0, 8, 6, 1, 0, 0, 0, 0});
                    out.write(payload);
                    out.flush();
                }
            }
            client.shutdownOutput();
            DrainReport report = drain.get(15, TimeUnit.SECONDS);

            assertThat(types).as("frame types, -1 for the FIN").contains(7).endsWith(-1);   // GOAWAY
            assertThat(report.graceful()).isEqualTo(1);
            assertThat(report.requests().goodbyes()).isEqualTo(1);
        }
    }
}
