package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Transport;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A library user's main can wait for the server's end, which comes with the drain's report. */
@ExtendWith(FdLeakCheck.class)
class ServerTerminationTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void awaitTerminationReturnsTheDrainsReportOnlyOnceTheServerStopped(Transport transport) throws Exception {
        Server server = Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1)
                .withDrainTimeout(Duration.ofSeconds(5)), new EchoProtocol());
        CompletableFuture<DrainReport> waited = CompletableFuture.supplyAsync(() -> {
            try {
                return server.awaitTermination();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, runnable -> new Thread(runnable, "main-of-a-library-user").start());
        CompletableFuture<DrainReport> termination = server.terminationFuture();
        try (Peer peer = Peer.connect(server.localAddress())) {
            peer.send("hello");
            assertThat(new String(peer.readExactly(5), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThat(termination).isNotDone();
            assertThat(waited).isNotDone();

            termination.complete(null);   // a caller's completion of its copy stops nothing
            assertThat(server.isReady()).isTrue();

            CompletableFuture<DrainReport> stopping = server.stop();
            assertThat(peer.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
            peer.close();
            DrainReport stopped = stopping.get(10, TimeUnit.SECONDS);
            assertThat(waited.get(10, TimeUnit.SECONDS)).isSameAs(stopped);
            assertThat(server.terminationFuture().get(10, TimeUnit.SECONDS)).isSameAs(stopped);
            assertThat(stopped.connections()).isEqualTo(1);
        }
    }
}
