package dev.grace.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.grace.Outcome;
import dev.grace.Transport;
import dev.grace.server.EchoProtocol;
import dev.grace.server.Protocol;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import dev.grace.server.DrainUnderLoadTest;
import dev.grace.testing.TestServer;
import dev.grace.testkit.ConnectFlood;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Kernel;
import dev.grace.testkit.Misbehaviour;
import dev.grace.testkit.Peer;
import dev.grace.testkit.PeerServer;
import dev.grace.testkit.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The relay on real sockets: a plain-socket client, the Grace proxy, a plain-socket backend. */
@ExtendWith(FdLeakCheck.class)
class RelayTest {
    private static final int MEBIBYTE = 1024 * 1024;
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stopThreads() throws InterruptedException {
        threads.shutdownNow();
        threads.awaitTermination(10, TimeUnit.SECONDS);
    }

    private static byte[] random(int bytes, long seed) {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return data;
    }

    private static void write(Socket socket, byte[] data, Consumer<Integer> progress) throws IOException {
        OutputStream out = socket.getOutputStream();
        for (int offset = 0; offset < data.length; offset += 64 * 1024) {
            out.write(data, offset, Math.min(64 * 1024, data.length - offset));
            progress.accept(offset);
        }
    }

    private static int firstDifference(byte[] a, byte[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return a.length == b.length ? -1 : Math.min(a.length, b.length);
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void exactBytesBothWaysAtOnceWithBoundedBuffersWhileTheClientStopsReading(Transport transport) throws Exception {
        byte[] up = random(64 * MEBIBYTE, 1);
        byte[] down = random(64 * MEBIBYTE, 2);
        try (PeerServer backend = PeerServer.scripted((socket, s) -> {
                    CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                        try {
                            return socket.getInputStream().readAllBytes();
                        } catch (IOException e) {
                            throw new IllegalStateException(e);
                        }
                    }, threads);
                    write(socket, down, offset -> { });
                    socket.shutdownOutput();
                    assertThat(sha256(received.get(60, TimeUnit.SECONDS))).isEqualTo(sha256(up));
                });
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults());
                Peer client = Peer.connect(proxy.address())) {
            CountDownLatch halfSent = new CountDownLatch(1);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    write(client.socket(), up, offset -> {
                        if (offset >= up.length / 2) {
                            halfSent.countDown();
                        }
                    });
                    client.halfClose();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }, threads);
            // The client does not read until it has sent half its upload: the proxy's downstream
            // direction stalls meanwhile and must not buffer more than its limit.
            assertThat(halfSent.await(60, TimeUnit.SECONDS)).isTrue();
            Peer.ReadResult received = client.readToEnd();
            writer.get(60, TimeUnit.SECONDS);
            backend.awaitServed(60);
            RelayReport report = proxy.nextRelayed();

            assertThat(received.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(received.bytes().length).as("%s", report).isEqualTo(down.length);
            assertThat(firstDifference(received.bytes(), down)).as("first differing byte; %s", report).isEqualTo(-1);
            assertThat(report.bytesToUpstream()).isEqualTo(up.length);
            assertThat(report.bytesToClient()).isEqualTo(down.length);
            assertThat(report.maxBufferedToUpstream()).isPositive().isLessThanOrEqualTo(RelayOptions.DEFAULT_MAX_BUFFER_BYTES);
            assertThat(report.maxBufferedToClient()).isPositive().isLessThanOrEqualTo(RelayOptions.DEFAULT_MAX_BUFFER_BYTES);
            assertThat(report.isClean()).as("%s", report).isTrue();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void clientHalfCloseReachesTheBackendWhichKeepsSendingUntilItCloses(Transport transport) throws Exception {
        try (PeerServer backend = PeerServer.scripted((socket, s) -> {
                    InputStream in = socket.getInputStream();
                    assertThat(new String(in.readAllBytes())).isEqualTo("request");
                    OutputStream out = socket.getOutputStream();
                    out.write("response part 1, ".getBytes());
                    out.write("part 2".getBytes());
                });
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults());
                Peer client = Peer.connect(proxy.address())) {
            client.send("request");
            client.halfClose();
            Peer.ReadResult response = client.readToEnd();
            RelayReport report = proxy.nextRelayed();

            assertThat(response.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(response.text()).isEqualTo("response part 1, part 2");
            assertThat(report.firstFinished()).isEqualTo(RelayReport.Leg.CLIENT);
            assertThat(report.clientToUpstream()).isEqualTo(RelayReport.DirectionEnd.FIN);
            assertThat(report.upstreamToClient()).isEqualTo(RelayReport.DirectionEnd.FIN);
            assertThat(report.client().outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
            assertThat(report.upstream().outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void backendFinishingFirstLeavesTheClientFreeToKeepSending(Transport transport) throws Exception {
        try (PeerServer backend = PeerServer.scripted((socket, s) -> {
                    socket.getOutputStream().write("hello, that is all from me".getBytes());
                    socket.shutdownOutput();
                    assertThat(new String(socket.getInputStream().readAllBytes())).isEqualTo("but I have more");
                });
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults());
                Peer client = Peer.connect(proxy.address())) {
            Peer.ReadResult greeting = client.readToEnd();
            client.send("but I have more");
            client.halfClose();
            backend.awaitServed(15);
            RelayReport report = proxy.nextRelayed();

            assertThat(greeting.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(greeting.text()).isEqualTo("hello, that is all from me");
            assertThat(report.firstFinished()).isEqualTo(RelayReport.Leg.UPSTREAM);
            assertThat(report.isClean()).as("%s", report).isTrue();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void backendResetReachesTheClientWithinASecond(Transport transport) throws Exception {
        // The ping proves the session is relaying; the backend answers half its pong, then resets.
        try (PeerServer backend = PeerServer.start(Misbehaviour.RESETS_MID_STREAM, "pong pong ");
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults());
                Peer client = Peer.connect(proxy.address())) {
            client.send("ping");
            Peer.ReadResult seen = client.readToEnd();
            long seenAt = System.nanoTime();
            Misbehaviour.Session served = backend.nextSession();
            long millis = TimeUnit.NANOSECONDS.toMillis(seenAt - served.finishedAtNanos());
            RelayReport report = proxy.nextRelayed();

            assertThat(served.received().text()).isEqualTo("ping");
            assertThat(seen.end()).as(seen.toString()).isEqualTo(Peer.ReadResult.End.RESET);
            assertThat(millis).isLessThan(1_000);
            assertThat(report.upstream().outcome()).as("%s", report).isEqualTo(Outcome.PEER_RESET);
            assertThat(report.client().outcome()).isEqualTo(Outcome.ABORTED);
            assertThat(report.firstFinished()).isEqualTo(RelayReport.Leg.UPSTREAM);
            assertThat(report.upstreamToClient()).isEqualTo(RelayReport.DirectionEnd.RST);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void clientResetReachesTheBackendWithinASecond(Transport transport) throws Exception {
        CompletableFuture<Long> backendSawResetAt = new CompletableFuture<>();
        try (PeerServer backend = PeerServer.scripted((socket, s) -> {
                    InputStream in = socket.getInputStream();
                    try {
                        in.readNBytes(4);
                        in.read();
                        backendSawResetAt.completeExceptionally(new AssertionError("EOF instead of a reset"));
                    } catch (IOException e) {
                        backendSawResetAt.complete(System.nanoTime());
                    }
                });
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults())) {
            Peer client = Peer.connect(proxy.address());
            client.send("ping");
            long startNanos = System.nanoTime();
            client.reset();
            long millis = TimeUnit.NANOSECONDS.toMillis(backendSawResetAt.get(15, TimeUnit.SECONDS) - startNanos);
            RelayReport report = proxy.nextRelayed();

            assertThat(millis).isLessThan(1_000);
            assertThat(report.client().outcome()).isEqualTo(Outcome.PEER_RESET);
            // ERROR when the reset came before the upstream leg had finished connecting.
            assertThat(report.upstream().outcome()).isIn(Outcome.ABORTED, Outcome.ERROR);
            assertThat(report.firstFinished()).isEqualTo(RelayReport.Leg.CLIENT);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void refusedTargetResetsTheClient(Transport transport) throws Exception {
        try (Proxy proxy = new Proxy(transport, Ports.refused(), RelayOptions.defaults());
                Peer client = Peer.connect(proxy.address())) {
            Peer.ReadResult seen = client.readToEnd();

            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.RESET);
            assertThat(proxy.nextUpstreamFailure()).hasMessageContaining("Connection refused");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void finTimeoutAbortsBothLegsWhenNothingMovesAfterAHalfClose(Transport transport) throws Exception {
        CountDownLatch clientSawTheEnd = new CountDownLatch(1);
        CompletableFuture<String> backendWrite = new CompletableFuture<>();
        try (PeerServer backend = PeerServer.scripted((socket, s) -> {
                    assertThat(socket.getInputStream().read()).as("the client's FIN, carried").isEqualTo(-1);
                    // Silent until the proxy has given up; then the answer is too late.
                    assertThat(clientSawTheEnd.await(15, TimeUnit.SECONDS)).isTrue();
                    // The upstream leg's RST leaves a moment after the client's: write until it is seen (bounded).
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    try {
                        while (System.nanoTime() < deadline) {
                            socket.getOutputStream().write("too late".getBytes());
                            Thread.sleep(5);
                        }
                        backendWrite.complete("written for 10 s");
                    } catch (IOException e) {
                        backendWrite.complete(e.getMessage());
                    }
                });
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults().withFinTimeout(Duration.ofMillis(300)));
                Peer client = Peer.connect(proxy.address())) {
            client.halfClose();
            Peer.ReadResult seen = client.readToEnd();
            clientSawTheEnd.countDown();
            RelayReport report = proxy.nextRelayed();

            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.RESET);
            assertThat(report.client().outcome()).isIn(Outcome.ABORTED_AT_DEADLINE, Outcome.ABORTED);
            assertThat(report.upstream().outcome()).isIn(Outcome.ABORTED_AT_DEADLINE, Outcome.ABORTED);
            assertThat(report.duration()).isGreaterThanOrEqualTo(Duration.ofMillis(300));
            assertThat(backendWrite.get(15, TimeUnit.SECONDS)).isIn("Broken pipe", "Connection reset by peer", "Connection reset");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aConnectFloodThroughTheProxysStopResetsNoClientWhoseConnectSucceeded(Transport transport) throws Exception {
        try (TestServer backend = TestServer.start(transport, new EchoProtocol())) {
            Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults());
            ConnectFlood flood = ConnectFlood.start(proxy.address(), 8);
            flood.awaitServed(200);
            proxy.server.stop().get(15, TimeUnit.SECONDS);
            flood.awaitEnd();

            DrainUnderLoadTest.assertNobodyWhoseConnectSucceededWasReset(transport, flood);
        }
    }

    /** A backend that speaks first and finishes first: a greeting, then its FIN. */
    private static Protocol greetThenFinish() {
        return connection -> connection.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(Unpooled.copiedBuffer("hello".getBytes()));
                connection.shutdownOutput();
                ctx.fireChannelActive();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        });
    }

    /**
     * The client finishes first, so the proxy's upstream leg sends the first FIN and keeps each
     * upstream port in TIME_WAIT: with two source ports, session three on must take a TIME_WAIT
     * over, or its connect fails.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void upstreamSourcePortsTakeTheirTimeWaitOverSessionAfterSession(Transport transport) throws Exception {
        int sessions = 12;
        int low = Ports.freeRunBelowEphemeral(2);
        List<Integer> upstreamPorts = new CopyOnWriteArrayList<>();
        try (PeerServer backend = echoRecordingPorts(upstreamPorts)) {
            RelayOptions options = RelayOptions.defaults().withUpstreamSourcePorts(dev.grace.SourcePorts.range(low, low + 1));
            try (Proxy proxy = new Proxy(transport, backend.address(), options)) {
                for (int i = 0; i < sessions; i++) {
                    requestThrough(proxy, i);
                    RelayReport report = proxy.nextRelayed();
                    assertThat(report.firstFinished()).isEqualTo(RelayReport.Leg.CLIENT);
                    assertThat(report.isClean()).as("%s", report).isTrue();
                    backend.awaitServed(15);
                }
            }
        }
        assertThat(upstreamPorts).hasSize(sessions).allSatisfy(port -> assertThat(port).isBetween(low, low + 1));
        assertThat(Kernel.timeWaitFrom(low).size() + Kernel.timeWaitFrom(low + 1).size())
                .as("one TIME_WAIT per port at most: each new session took the last one over").isBetween(1, 2);
    }

    /** A backend that answers "echo:" and the request, once the client's FIN is in, noting each upstream port. */
    private static PeerServer echoRecordingPorts(List<Integer> upstreamPorts) throws IOException {
        return PeerServer.scripted((socket, s) -> {
            upstreamPorts.add(socket.getPort());
            byte[] request = socket.getInputStream().readAllBytes();
            socket.getOutputStream().write(("echo:" + new String(request)).getBytes());
        });
    }

    /** Request {@code i} through the proxy, half-closed, answered whole and then FIN. */
    private static void requestThrough(Proxy proxy, int i) throws IOException {
        try (Peer client = Peer.connect(proxy.address())) {
            client.send("request " + i);
            client.halfClose();
            Peer.ReadResult response = client.readToEnd();
            assertThat(response.text()).isEqualTo("echo:request " + i);
            assertThat(response.end()).isEqualTo(Peer.ReadResult.End.FIN);
        }
    }

    /**
     * The range's first port is held by another program's listener and its second by another
     * program's TIME_WAIT toward the backend: no client fails for it. The listener's port is
     * refused once and set aside; the TIME_WAIT is taken over (the kernel allows it with TCP
     * timestamps, as here).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void portsOtherProgramsHoldNeverFailAClient(Transport transport) throws Exception {
        int low = Ports.freeRunBelowEphemeral(3);
        List<Integer> upstreamPorts = new CopyOnWriteArrayList<>();
        try (PeerServer backend = echoRecordingPorts(upstreamPorts); java.net.ServerSocket holder = new java.net.ServerSocket(low, 1, java.net.InetAddress.getLoopbackAddress())) {
            try (java.net.Socket other = new java.net.Socket()) {
                other.setReuseAddress(true);
                other.bind(new InetSocketAddress("0.0.0.0", low + 1));
                other.connect(backend.address());
                other.shutdownOutput();
                other.getInputStream().readAllBytes();
            }
            backend.awaitServed(15);
            assertThat(Kernel.timeWaitFrom(low + 1)).as("another program's TIME_WAIT on the second port").isNotEmpty();
            dev.grace.SourcePorts ports = dev.grace.SourcePorts.range(low, low + 2);
            RelayOptions options = RelayOptions.defaults().withUpstreamSourcePorts(ports);
            try (Proxy proxy = new Proxy(transport, backend.address(), options)) {
                for (int i = 0; i < 6; i++) {
                    requestThrough(proxy, i);
                    assertThat(proxy.nextRelayed().isClean()).isTrue();
                    backend.awaitServed(15);
                }
            }
            assertThat(ports.refusals()).as("the listener's port, refused once, then set aside").isEqualTo(1);
            assertThat(ports.kernelChoices()).isZero();
        }
        assertThat(upstreamPorts.subList(1, upstreamPorts.size())).hasSize(6).allSatisfy(port -> assertThat(port).isBetween(low + 1, low + 2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void resetReleaseLeavesNoTimeWaitWhenTheBackendFinishesFirst(Transport transport) throws Exception {
        Server backend = Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1), greetThenFinish());
        try {
            int backendPort = backend.localAddress().getPort();
            for (RelayOptions.UpstreamRelease release : RelayOptions.UpstreamRelease.values()) {
                int before = Kernel.timeWait(backendPort).size();
                try (Proxy proxy = new Proxy(transport, backend.localAddress(), RelayOptions.defaults().withUpstreamRelease(release))) {
                    for (int i = 0; i < 20; i++) {
                        try (Peer client = Peer.connect(proxy.address())) {
                            Peer.ReadResult greeting = client.readToEnd();
                            assertThat(greeting.text()).isEqualTo("hello");
                            assertThat(greeting.end()).isEqualTo(Peer.ReadResult.End.FIN);
                            client.halfClose();
                        }
                        RelayReport report = proxy.nextRelayed();
                        assertThat(report.isClean()).as("%s", report).isTrue();
                        assertThat(report.upstream().outcome()).isEqualTo(resetsFor(release, transport)
                                ? Outcome.RELEASED_WITH_RESET : Outcome.FIN_BOTH_WAYS);
                    }
                }
                int added = Kernel.timeWait(backendPort).size() - before;
                if (!resetsFor(release, transport)) {
                    assertThat(added).as("FIN release: the backend, first to FIN, holds TIME_WAIT").isGreaterThanOrEqualTo(20);
                } else {
                    assertThat(added).as("reset release: nobody holds TIME_WAIT").isZero();
                }
            }
        } finally {
            backend.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void whatTheProxyHoldsStillReachesTheClientAfterTheBackendLegClosed(Transport transport) throws Exception {
        byte[] answer = random(3 * MEBIBYTE, 9);
        CountDownLatch backendDone = new CountDownLatch(1);
        try (PeerServer backend = PeerServer.scripted((socket, s) -> {
                    assertThat(socket.getInputStream().readAllBytes()).hasSize(1);
                    socket.getOutputStream().write(answer);
                    socket.shutdownOutput();
                    backendDone.countDown();
                });
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults());
                Peer client = Peer.connect(proxy.address(), 16 * 1024)) {
            client.send("?");
            client.halfClose();
            // Not reading until the backend has sent everything and its FIN: the proxy's upstream
            // leg then has both directions done and closes, while the proxy still holds data.
            assertThat(backendDone.await(30, TimeUnit.SECONDS)).isTrue();
            Peer.ReadResult received = client.readToEnd();
            RelayReport report = proxy.nextRelayed();

            assertThat(received.end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(received.bytes().length).as("%s", report).isEqualTo(answer.length);
            assertThat(received.bytes()).isEqualTo(answer);
        }
    }

    /** Only where the kernel's send queue can be read does a reset release happen; elsewhere it stays a FIN. */
    private static boolean resetsFor(RelayOptions.UpstreamRelease release, Transport transport) {
        return release == RelayOptions.UpstreamRelease.RESET && transport == Transport.EPOLL;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void resetReleaseNeverDropsBytesAnUpstreamWithAClosedWindowHasNotTakenYet(Transport transport) throws Exception {
        byte[] upload = random(512 * 1024, 5);
        CountDownLatch clientDone = new CountDownLatch(1);
        CompletableFuture<byte[]> backendGot = new CompletableFuture<>();
        ServerSocket small = new ServerSocket();
        small.setReceiveBufferSize(4096);
        small.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        try (small; Proxy proxy = new Proxy(transport, (InetSocketAddress) small.getLocalSocketAddress(),
                RelayOptions.defaults().withUpstreamRelease(RelayOptions.UpstreamRelease.RESET));
                Peer client = Peer.connect(proxy.address())) {
            CompletableFuture.runAsync(() -> {
                try (Socket socket = small.accept()) {
                    socket.getOutputStream().write("hi".getBytes());
                    socket.shutdownOutput();
                    // Not reading for a second after the client finished: the proxy's bytes pile up
                    // behind a closed window while it decides how to release (the pause is the
                    // misbehaviour under test, not synchronisation).
                    assertThat(clientDone.await(15, TimeUnit.SECONDS)).isTrue();
                    Thread.sleep(1_000);
                    java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
                    try {
                        socket.getInputStream().transferTo(got);
                    } catch (IOException resetAfterEverything) {
                        // An RST may follow the last byte: what counts is that none is missing.
                    }
                    backendGot.complete(got.toByteArray());
                } catch (Exception e) {
                    backendGot.completeExceptionally(e);
                }
            }, threads);
            assertThat(client.readToEnd().text()).isEqualTo("hi");
            client.send(upload);
            client.halfClose();
            clientDone.countDown();

            assertThat(backendGot.get(30, TimeUnit.SECONDS)).isEqualTo(upload);
            assertThat(proxy.nextRelayed().isClean()).isTrue();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aSlowButSteadyBackendIsNotCutByTheFinTimeout(Transport transport) throws Exception {
        // NIO cannot see the kernel still delivering what the relay handed it: there the fin
        // timeout must exceed the time full buffers take to drain (docs/CLOSE_SEMANTICS.md).
        org.junit.jupiter.api.Assumptions.assumeTrue(transport == Transport.EPOLL, "needs TCP_INFO");
        byte[] upload = random(4 * MEBIBYTE, 6);
        try (PeerServer backend = PeerServer.scripted((socket, s) -> {
                    java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
                    byte[] buffer = new byte[64 * 1024];
                    InputStream in = socket.getInputStream();
                    for (int n; (n = in.read(buffer)) != -1; ) {
                        got.write(buffer, 0, n);
                        Thread.sleep(20);
                    }
                    assertThat(got.toByteArray()).isEqualTo(upload);
                });
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults().withFinTimeout(Duration.ofMillis(500)));
                Peer client = Peer.connect(proxy.address())) {
            client.send(upload);
            client.halfClose();
            assertThat(client.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
            backend.awaitServed(60);
            RelayReport report = proxy.nextRelayed();

            assertThat(report.isClean()).as("%s", report).isTrue();
            assertThat(report.duration()).as("the transfer outlasted the fin timeout").isGreaterThan(Duration.ofMillis(500));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void aBurstFollowedByAFinStaysWithinTheBuffer(Transport transport) throws Exception {
        byte[] burst = random(200 * 1024, 7);
        try (PeerServer backend = PeerServer.scripted((socket, s) -> assertThat(socket.getInputStream().readAllBytes()).isEqualTo(burst));
                Proxy proxy = new Proxy(transport, backend.address(), RelayOptions.defaults().withMaxBufferBytes(4096));
                Peer client = Peer.connect(proxy.address())) {
            client.send(burst);
            client.halfClose();
            assertThat(client.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
            backend.awaitServed(30);
            RelayReport report = proxy.nextRelayed();

            assertThat(report.bytesToUpstream()).isEqualTo(burst.length);
            assertThat(report.maxBufferedToUpstream()).isLessThanOrEqualTo(4096);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void twoThousandSessionsWithMixedEndingsLeaveNothingOpen(Transport transport) throws Exception {
        Server echo = Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1), new EchoProtocol());
        try (Proxy proxy = new Proxy(transport, echo.localAddress(), RelayOptions.defaults())) {
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int worker = w;
                workers.add(CompletableFuture.runAsync(() -> {
                    for (int i = 0; i < 500; i++) {
                        try (Peer client = Peer.connect(proxy.address())) {
                            client.send("s" + i);
                            if ((i + worker) % 2 == 0) {
                                client.halfClose();
                                assertThat(client.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
                            } else {
                                assertThat(client.readExactly(("s" + i).length())).hasSize(("s" + i).length());
                                client.reset();
                            }
                        } catch (IOException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                }, threads));
            }
            CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            for (int i = 0; i < 2000; i++) {
                proxy.nextRelayed();
            }
        } finally {
            echo.close();
        }
    }
}
