package dev.grace.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.CloseReport;
import dev.grace.Outcome;
import dev.grace.Side;
import dev.grace.Transport;
import dev.grace.server.DrainReport;
import dev.grace.testkit.FdLeakCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** HTTP/1.1 through a drain, on real sockets: goodbyes by {@code Connection: close}, no request lost. */
@ExtendWith(FdLeakCheck.class)
class Http1DrainTest {

    static Stream<Transport> transports() {
        return Stream.of(Transport.values()).filter(Transport::isAvailable);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aClientThatKeepsSendingIsToldByConnectionCloseAndLosesNothing(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            List<RawHttp.Response> responses = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                responses.add(client.exchange("/delay/5"));
            }
            CompletableFuture<DrainReport> drain = server.server.stop();
            // The client goes on with no pause, as a load generator does, until it is told.
            for (int i = 0; i < 1000 && !responses.get(responses.size() - 1).saysClose(); i++) {
                responses.add(client.exchange("/delay/5"));
            }
            RawHttp.End end = client.awaitEnd();
            client.close();
            DrainReport report = drain.get(15, TimeUnit.SECONDS);

            assertThat(responses).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
            assertThat(responses.get(responses.size() - 1).saysClose()).as("the last response says goodbye").isTrue();
            assertThat(responses.subList(0, responses.size() - 1)).noneMatch(RawHttp.Response::saysClose);
            assertThat(end).as("FIN after the goodbye, never RST").isEqualTo(RawHttp.End.FIN);
            assertThat(report.graceful()).isEqualTo(1);
            assertThat(report.requests().goodbyes()).isEqualTo(1);
            assertThat(report.requests().finished()).isGreaterThanOrEqualTo(1);
            assertThat(report.requests().closedIdle()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void anIdleKeepAliveConnectionGetsFinOnlyOnceTheClientWasQuietFor50Ms(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            long lastSent = System.nanoTime();
            assertThat(client.exchange("/").status()).isEqualTo(200);
            CompletableFuture<DrainReport> drain = server.server.stop();
            RawHttp.End end = client.awaitEnd();
            client.close();
            long quietMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastSent);
            DrainReport report = drain.get(15, TimeUnit.SECONDS);
            CloseReport closed = server.nextClosed();

            assertThat(end).isEqualTo(RawHttp.End.FIN);
            assertThat(quietMillis).as("the FIN waited for the quiet period").isGreaterThanOrEqualTo(HttpProtocol.QUIET_MILLIS);
            assertThat(closed.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(closed.firstCloser()).isEqualTo(Side.LOCAL);
            assertThat(report.requests().closedIdle()).isEqualTo(1);
            assertThat(report.requests().goodbyes()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void pipelinedRequestsAreAllAnsweredInOrderAndOnlyTheLastSaysGoodbye(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            client.send(RawHttp.get("/delay/300") + RawHttp.get("/delay/1") + RawHttp.get("/third"));
            assertThat(TestApp.nextArrived()).isEqualTo("/delay/300");
            CompletableFuture<DrainReport> drain = server.server.stop();
            RawHttp.Response first = client.read();
            RawHttp.Response second = client.read();
            RawHttp.Response third = client.read();
            RawHttp.End end = client.awaitEnd();
            client.close();
            DrainReport report = drain.get(15, TimeUnit.SECONDS);

            assertThat(List.of(first.body(), second.body(), third.body())).containsExactly("/delay/300\n", "/delay/1\n", "/third\n");
            assertThat(first.saysClose()).isFalse();
            assertThat(second.saysClose()).isFalse();
            assertThat(third.saysClose()).isTrue();
            assertThat(end).isEqualTo(RawHttp.End.FIN);
            assertThat(report.requests().inFlight()).as("received, unanswered at the drain's start").isBetween(1L, 3L);
            assertThat(report.requests().finished()).isEqualTo(3);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aResponseWhoseHeadWentOutBeforeTheDrainIsFinishedThenTheIdleRuleCloses(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            client.send(RawHttp.get("/slow-body/300"));
            RawHttp.Head head = client.readHead();   // the head is out: only then does the drain begin
            CompletableFuture<DrainReport> drain = server.server.stop();
            RawHttp.Response response = client.readBody(head);
            RawHttp.End end = client.awaitEnd();
            client.close();
            DrainReport report = drain.get(15, TimeUnit.SECONDS);

            assertThat(response.body()).isEqualTo("/slow-body/300\n");
            assertThat(end).isEqualTo(RawHttp.End.FIN);
            assertThat(report.graceful()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void aRequestHalfSentWhenTheDrainBeginsIsWaitedForAndAnswered(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            var connection = server.nextAccepted();
            String request = RawHttp.get("/late");
            client.send(request.substring(0, 20));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (connection.bytesIn() < 20 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            CompletableFuture<DrainReport> drain = server.server.stop();
            Thread.sleep(4 * HttpProtocol.QUIET_MILLIS); // the client is slow: well past the quiet period
            client.send(request.substring(20));
            RawHttp.Response response = client.read();
            RawHttp.End end = client.awaitEnd();
            client.close();
            drain.get(15, TimeUnit.SECONDS);

            assertThat(response.status()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("/late\n");
            assertThat(response.saysClose()).isTrue();
            assertThat(end).isEqualTo(RawHttp.End.FIN);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void pipelinedRequestsBehindOneAnsweredBeforeItsBodyAreAllAnswered(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            String early = "POST /early HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello";
            client.send(RawHttp.get("/delay/20") + early + RawHttp.get("/last"));

            assertThat(client.read().body()).isEqualTo("/delay/20\n");
            assertThat(client.read().body()).isEqualTo("/early\n");
            assertThat(client.read().body()).isEqualTo("/last\n");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transports")
    void anApplicationThatThrowsGets500AndAGracefulCloseNotAHang(Transport transport) throws Exception {
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            RawHttp.Response response = client.exchange("/throw");
            RawHttp.End end = client.awaitEnd();

            assertThat(response.status()).isEqualTo(500);
            assertThat(response.saysClose()).isTrue();
            assertThat(end).isEqualTo(RawHttp.End.FIN);
        }
    }

    static Stream<Object[]> malformed() {
        String bigHeader = "GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + "a".repeat(HttpProtocol.MAX_HEAD_BYTES + 1) + "\r\n\r\n";
        return Stream.of(
                new Object[] {"not HTTP", "GARBAGE\r\n\r\n", 400},
                new Object[] {"head over 16 KiB", bigHeader, 431},
                new Object[] {"HTTP/3.0", "GET / HTTP/3.0\r\nHost: test\r\n\r\n", 505});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void aBadRequestIsAnsweredCompletelyThenClosedWithFin(String name, String request, int status) throws Exception {
        Transport transport = transports().findFirst().orElseThrow();
        try (HttpTestServer server = HttpTestServer.start(transport);
                RawHttp client = new RawHttp(server.address())) {
            client.send(request + RawHttp.get("/after"));
            RawHttp.Response response = client.read();
            RawHttp.End end = client.awaitEnd();
            client.close();
            CloseReport closed = server.nextClosed();

            assertThat(response.status()).isEqualTo(status);
            assertThat(response.saysClose()).isTrue();
            assertThat(end).as("the answer is not destroyed by an RST").isEqualTo(RawHttp.End.FIN);
            assertThat(closed.outcome().isClean()).isTrue();
            assertThat(TestApp.arrived).as("nothing after a bad request is served").isEmpty();
        }
    }
}
