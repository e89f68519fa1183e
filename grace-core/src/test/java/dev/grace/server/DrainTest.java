package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.grace.Connection;
import dev.grace.Grace;
import dev.grace.Outcome;
import dev.grace.Transport;
import dev.grace.testing.Recorder;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The drain plan, step by step, against an echo server and plain-socket clients. */
@ExtendWith(FdLeakCheck.class)
class DrainTest {

    private static TestServer echoServer(Transport transport, Duration drainTimeout) throws Exception {
        return echoServer(ServerOptions.defaults().withTransport(transport).withDrainTimeout(drainTimeout));
    }

    private static TestServer echoServer(ServerOptions options) throws Exception {
        return TestServer.start(options, new EchoProtocol(), new Recorder());
    }

    /** Sends {@code text} and reads its echo, so the connection is known to be up and idle. */
    private static Peer idlePeer(TestServer server, String text) throws IOException {
        Peer peer = Peer.connect(server.address());
        peer.send(text);
        assertThat(new String(peer.readExactly(text.length()))).isEqualTo(text);
        return peer;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void idleConnectionsGetFinAtOnceAndTheReportCountsThem(Transport transport) throws Exception {
        try (TestServer server = echoServer(transport, Duration.ofSeconds(30))) {
            List<Peer> peers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                peers.add(idlePeer(server, "hello " + i));
            }
            CompletableFuture<DrainReport> drained = server.server.stop();
            for (Peer peer : peers) {
                assertThat(peer.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
                peer.close();
            }
            DrainReport report = drained.get(10, TimeUnit.SECONDS);

            assertThat(report.count(Outcome.FIN_BOTH_WAYS)).isEqualTo(3);
            assertThat(report.connections()).isEqualTo(3);
            assertThat(report.bytesDiscarded()).isZero();
            assertThat(report.forced()).isFalse();
            assertThat(report.duration()).isLessThan(Duration.ofSeconds(5));
            assertThat(server.recorder.events()).containsSubsequence("ready=false", "listener closed", "drained");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aStreamingClientIsServedToItsEndByteExactThenGetsFin(Transport transport) throws Exception {
        byte[] upload = new byte[16 * 1024 * 1024];
        new Random(5).nextBytes(upload);
        try (TestServer server = echoServer(transport, Duration.ofSeconds(30));
                Peer peer = Peer.connect(server.address())) {
            Connection connection = server.recorder.nextAccepted();
            CompletableFuture<String> writer = CompletableFuture.supplyAsync(() -> {
                try {
                    OutputStream out = peer.socket().getOutputStream();
                    for (int offset = 0; offset < upload.length; offset += 64 * 1024) {
                        out.write(upload, offset, 64 * 1024);
                    }
                    peer.halfClose();
                    return "sent all";
                } catch (IOException e) {
                    return e.getMessage();
                }
            });
            byte[] head = peer.readExactly(256 * 1024);
            long receivedByServerAtDrain = connection.bytesIn();
            CompletableFuture<DrainReport> drained = server.server.stop();
            Peer.ReadResult rest = peer.readToEnd();
            DrainReport report = drained.get(10, TimeUnit.SECONDS);

            int echoed = head.length + rest.bytes().length;
            assertThat(rest.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(receivedByServerAtDrain).as("the drain began mid-stream").isLessThan(upload.length);
            assertThat(echoed).as("a client that keeps sending is served to its end").isEqualTo(upload.length);
            assertThat(Arrays.copyOfRange(upload, head.length, echoed)).isEqualTo(rest.bytes());
            assertThat(writer.get(10, TimeUnit.SECONDS)).isEqualTo("sent all");
            assertThat(report.count(Outcome.FIN_BOTH_WAYS)).isEqualTo(1);
            assertThat(report.discardedInbound()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void peerThatNeverSendsFinIsAbortedAtTheDeadline(Transport transport) throws Exception {
        try (TestServer server = echoServer(transport, Duration.ofMillis(500));
                Peer peer = idlePeer(server, "hi")) {
            CompletableFuture<DrainReport> drained = server.server.stop();
            assertThat(peer.socket().getInputStream().read()).as("our FIN").isEqualTo(-1);
            DrainReport report = drained.get(10, TimeUnit.SECONDS);

            assertThat(report.count(Outcome.ABORTED_AT_DEADLINE)).isEqualTo(1);
            assertThat(report.connections()).isEqualTo(1);
            assertThat(report.duration()).isBetween(Duration.ofMillis(450), Duration.ofSeconds(5));
            assertThat(peer.awaitResetOnWrite()).as("an RST followed our FIN").isNotNull();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void newConnectsAreRefusedOnceTheListenerIsClosed(Transport transport) throws Exception {
        try (TestServer server = echoServer(transport, Duration.ofSeconds(30));
                Peer holdsTheDrainOpen = idlePeer(server, "hi")) {
            InetSocketAddress address = server.address();
            CompletableFuture<DrainReport> drained = server.server.stop();
            server.server.listenerClosed().get(10, TimeUnit.SECONDS);

            assertThat(drained).isNotDone();
            assertThatThrownBy(() -> Peer.connect(address)).isInstanceOf(ConnectException.class);
            assertThat(server.server.isReady()).isFalse();
            holdsTheDrainOpen.close();
            assertThat(drained.get(10, TimeUnit.SECONDS).connections()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void reportCountsEveryEndingExactly(Transport transport) throws Exception {
        try (TestServer server = echoServer(transport, Duration.ofMillis(800))) {
            Peer polite1 = idlePeer(server, "a");
            Peer polite2 = idlePeer(server, "b");
            Peer resetter = idlePeer(server, "c");
            Peer silent = idlePeer(server, "d");
            CompletableFuture<DrainReport> drained = server.server.stop();
            for (Peer polite : List.of(polite1, polite2)) {
                assertThat(polite.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
                polite.close();
            }
            assertThat(resetter.socket().getInputStream().read()).isEqualTo(-1);
            resetter.reset();
            assertThat(silent.socket().getInputStream().read()).isEqualTo(-1);
            DrainReport report = drained.get(10, TimeUnit.SECONDS);
            silent.close();

            assertThat(report.count(Outcome.FIN_BOTH_WAYS)).isEqualTo(2);
            assertThat(report.count(Outcome.PEER_RESET)).isEqualTo(1);
            assertThat(report.count(Outcome.ABORTED_AT_DEADLINE)).isEqualTo(1);
            assertThat(report.connections()).isEqualTo(4);
            assertThat(report.graceful()).isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void secondStopAbortsWhateverIsLeftAtOnce(Transport transport) throws Exception {
        try (TestServer server = echoServer(transport, Duration.ofSeconds(60));
                Peer silent = idlePeer(server, "hi")) {
            CompletableFuture<DrainReport> first = server.server.stop();
            assertThat(silent.socket().getInputStream().read()).isEqualTo(-1);
            long startNanos = System.nanoTime();
            CompletableFuture<DrainReport> second = server.server.stop();
            DrainReport report = second.get(10, TimeUnit.SECONDS);

            assertThat(second).isSameAs(first);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos)).isLessThan(5_000);
            assertThat(report.forced()).isTrue();
            assertThat(report.count(Outcome.ABORTED)).isEqualTo(1);
            assertThat(silent.awaitResetOnWrite()).as("an RST followed our FIN").isNotNull();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void drainDelayKeepsAcceptingWhileNotReady(Transport transport) throws Exception {
        ServerOptions options = ServerOptions.defaults().withTransport(transport)
                .withDrainDelay(Duration.ofMillis(500)).withDrainTimeout(Duration.ofSeconds(10));
        try (TestServer server = echoServer(options)) {
            CompletableFuture<DrainReport> drained = server.server.stop();
            assertThat(server.server.isReady()).isFalse();
            Peer lateComer = idlePeer(server, "just in time");
            assertThat(server.server.listenerClosed()).isNotDone();
            assertThat(lateComer.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
            lateComer.close();
            DrainReport report = drained.get(10, TimeUnit.SECONDS);

            assertThat(report.count(Outcome.FIN_BOTH_WAYS)).isEqualTo(1);
            assertThat(server.recorder.events()).containsSubsequence("ready=false", "listener closed");
        }
    }

    /** How a peer's read ended, and when. */
    private record TimedEnd(Peer.ReadResult result, long atNanos) {}

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void idleClosesAreSpreadOverTheWindow(Transport transport) throws Exception {
        ServerOptions options = ServerOptions.defaults().withTransport(transport)
                .withIdleCloseWindow(Duration.ofMillis(400)).withDrainTimeout(Duration.ofSeconds(10));
        try (TestServer server = echoServer(options)) {
            List<Peer> peers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                peers.add(idlePeer(server, "p" + i));
            }
            server.server.stop();
            // One thread per peer: each records how its read ended and when.
            List<CompletableFuture<TimedEnd>> ends = new ArrayList<>();
            for (Peer peer : peers) {
                ends.add(CompletableFuture.supplyAsync(() -> {
                    Peer.ReadResult seen = peer.readToEnd();
                    return new TimedEnd(seen, System.nanoTime());
                }, runnable -> new Thread(runnable, "fin-reader").start()));
            }
            List<Long> finAtNanos = new ArrayList<>();
            try {
                for (CompletableFuture<TimedEnd> end : ends) {
                    TimedEnd seen = end.get(Peer.READ_TIMEOUT_MILLIS + 5_000L, TimeUnit.MILLISECONDS);
                    // A read that timed out or met a reset has no FIN time: it must fail here, not
                    // stretch the spread below.
                    assertThat(seen.result().end()).as("every idle peer gets a FIN: %s", seen.result())
                            .isEqualTo(Peer.ReadResult.End.FIN);
                    finAtNanos.add(seen.atNanos());
                }
            } finally {
                for (Peer peer : peers) {
                    peer.close();
                }
            }
            long spreadMillis = TimeUnit.NANOSECONDS.toMillis(Collections.max(finAtNanos) - Collections.min(finAtNanos));
            assertThat(spreadMillis).as("four closes spread over 400 ms: 0, 100, 200, 300").isGreaterThanOrEqualTo(150);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void connectionsWaitingInTheBacklogAreAcceptedAndServedNotReset(Transport transport) throws Exception {
        ServerOptions options = ServerOptions.defaults().withTransport(transport).withIoThreads(1)
                .withDrainTimeout(Duration.ofSeconds(10));
        try (TestServer server = echoServer(options)) {
            // Hold the listener's event loop still: the kernel completes handshakes and queues
            // them, but nothing is accepted. Every one of these connect() calls succeeds.
            CountDownLatch release = new CountDownLatch(1);
            server.server.listenerEventLoop().execute(() -> {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            List<Peer> queued = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Peer peer = Peer.connect(server.address());
                peer.send("queued");
                queued.add(peer);
            }
            CompletableFuture<DrainReport> drained = server.server.stop();
            release.countDown();
            for (Peer peer : queued) {
                Peer.ReadResult seen = peer.readToEnd();
                assertThat(seen.end()).as(seen.toString()).isEqualTo(Peer.ReadResult.End.FIN);
                assertThat(seen.text()).isEqualTo("queued");
                peer.close();
            }
            DrainReport report = drained.get(10, TimeUnit.SECONDS);

            assertThat(report.count(Outcome.FIN_BOTH_WAYS)).isEqualTo(20);
            assertThatThrownBy(() -> Peer.connect(server.address())).isInstanceOf(ConnectException.class);
        }
    }

    /** A protocol that opens a connection of its own per client, to a backend that stays silent. */
    private static final class OpensItsOwn implements Protocol {
        private final InetSocketAddress backend;
        private volatile Server server;

        OpensItsOwn(InetSocketAddress backend) {
            this.backend = backend;
        }

        @Override
        public void serverStarting(Server owner) {
            server = owner;
        }

        @Override
        public void connectionOpened(Connection client) {
            client.channel().pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object event) {
                    if (event instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
                        client.shutdownOutput();
                    }
                    ctx.fireUserEventTriggered(event);
                }
            });
            new io.netty.bootstrap.Bootstrap().group(client.channel().eventLoop())
                    .channel(Transport.of(client.channel()).channelClass())
                    .handler(new io.netty.channel.ChannelInitializer<io.netty.channel.Channel>() {
                        @Override
                        protected void initChannel(io.netty.channel.Channel channel) {
                            server.adopt(Grace.install(channel));
                        }
                    })
                    .connect(backend);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void connectionsAProtocolOpenedItselfAreResetAtTheDeadlineNotClosedUnderneath(Transport transport) throws Exception {
        try (java.net.ServerSocket backend = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            ServerOptions options = ServerOptions.defaults().withTransport(transport).withIoThreads(1)
                    .withDrainTimeout(Duration.ofMillis(300));
            try (TestServer server = TestServer.start(options, new OpensItsOwn((InetSocketAddress) backend.getLocalSocketAddress()), new Recorder());
                    java.net.Socket silentEnd = acceptAfter(backend, server)) {
                silentEnd.setSoTimeout(10_000);
                server.server.stop().get(10, TimeUnit.SECONDS);

                assertThatThrownBy(() -> silentEnd.getInputStream().read())
                        .as("the protocol's own connection ends with RST, not a FIN from the event loop's shutdown")
                        .isInstanceOf(IOException.class).hasMessage("Connection reset");
            }
        }
    }

    /** A client connects and leaves cleanly; the connection its arrival made the protocol open is what the backend accepts. */
    private static java.net.Socket acceptAfter(java.net.ServerSocket backend, TestServer server) throws IOException {
        try (Peer client = Peer.connect(server.address())) {
            client.halfClose();
            assertThat(client.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
        }
        return backend.accept();
    }
}
