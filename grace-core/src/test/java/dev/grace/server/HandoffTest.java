package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.grace.Outcome;
import dev.grace.Transport;
import dev.grace.testkit.ConnectFlood;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A listener handed from one server to its successor over a Unix socket, in one JVM (the
 * descriptor still travels by SCM_RIGHTS and arrives as a new one), and every way the
 * newcomer can find the path: a Grace server, nothing, a stale file, a regular file, another
 * program, a server of another kind or port, another newcomer's turn, a server that goes away.
 */
@ExtendWith(FdLeakCheck.class)
@Timeout(60)
class HandoffTest {
    @TempDir
    Path dir;
    Path path;

    @BeforeEach
    void epollOnly() {
        assumeTrue(Transport.EPOLL.isAvailable(), "handoff needs epoll");
        path = dir.resolve("grace.handoff");
    }

    private static ServerOptions options() {
        return ServerOptions.defaults().withTransport(Transport.EPOLL).withIoThreads(1).withDrainTimeout(Duration.ofSeconds(5));
    }

    @Test
    void aNewcomerTakesTheListenerUnderAConnectFloodAndTheOldServerDrainsItsOwn() throws Exception {
        Server old = Server.start(options(), new EchoProtocol());
        HandoffPoint oldPoint = HandoffPoint.open(path, "server", old, Map.of());
        Server newcomer = null;
        try (Peer idle = Peer.connect(old.localAddress())) {
            idle.send("hi");
            assertThat(new String(idle.readExactly(2), StandardCharsets.US_ASCII)).isEqualTo("hi");
            ConnectFlood flood = ConnectFlood.start(old.localAddress(), 4);
            flood.awaitServed(50);

            ListenerTakeover takeover = ListenerTakeover.take(path, "server", null, 0).orElseThrow();
            assertThat(takeover.address()).isEqualTo(old.localAddress());
            newcomer = Server.start(options().withInheritedListener(takeover.listenerFd()), new EchoProtocol());
            HandoffPoint newPoint = HandoffPoint.open(path, "server", newcomer, Map.of());
            takeover.confirm(newcomer);

            assertThat(oldPoint.handedOver().get(10, TimeUnit.SECONDS)).isEqualTo(ProcessHandle.current().pid());
            assertThat(idle.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
            idle.close();
            DrainReport drained = old.terminationFuture().get(10, TimeUnit.SECONDS);
            assertThat(drained.count(Outcome.FIN_BOTH_WAYS)).isEqualTo(drained.connections());
            takeover.released().get(10, TimeUnit.SECONDS);
            assertThat(newcomer.localAddress()).isEqualTo(old.localAddress());
            assertThat(newcomer.isReady()).isTrue();
            assertThat(newPoint.path()).exists();

            flood.awaitEnd();
            assertThat(flood.refused.get()).as(flood.toString()).isZero();
            assertThat(flood.resetAfterConnect.get()).as(flood.toString()).isZero();
            assertThat(flood.finWithEchoOwed.get()).as(flood.toString()).isZero();
            try (Peer after = Peer.connect(newcomer.localAddress())) {
                after.send("still here");
                assertThat(new String(after.readExactly(10), StandardCharsets.US_ASCII)).isEqualTo("still here");
            }
        } finally {
            old.stop().get(10, TimeUnit.SECONDS);
            if (newcomer != null) {
                newcomer.stop().get(10, TimeUnit.SECONDS);
            }
        }
        assertThat(path).as("the last server removes its own socket file").doesNotExist();
    }

    @Test
    void nothingAtThePathOrAStaleFileMeansBindAsUsual() throws Exception {
        assertThat(ListenerTakeover.take(path, "server", null, 0)).isEmpty();
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(path));
        }
        assertThat(path).exists();
        assertThat(ListenerTakeover.take(path, "server", null, 0)).isEmpty();

        Server server = Server.start(options(), new EchoProtocol());
        try {
            HandoffPoint point = HandoffPoint.open(path, "server", server, Map.of());
            assertThat(point.path()).exists();
            assertThatThrownBy(() -> ListenerTakeover.take(path, "proxy", null, 0))
                    .hasMessageContaining(") is a server, not a proxy: refusing to take its listener");
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRegularFileOrAMissingDirectoryIsNeverReplaced() throws Exception {
        Files.writeString(path, "not a socket");
        assertThatThrownBy(() -> ListenerTakeover.take(path, "server", null, 0))
                .isInstanceOf(IOException.class).hasMessage(path + " is not a socket: refusing to replace it");
        Server server = Server.start(options(), new EchoProtocol());
        try {
            assertThatThrownBy(() -> HandoffPoint.open(path, "server", server, Map.of()))
                    .hasMessage(path + " is not a socket: refusing to replace it");
            assertThat(Files.readString(path)).isEqualTo("not a socket");
            Path nowhere = dir.resolve("missing").resolve("grace.handoff");
            assertThatThrownBy(() -> HandoffPoint.open(nowhere, "server", server, Map.of()))
                    .hasMessageStartingWith("cannot serve handoffs at " + nowhere);
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void anotherProgramAtThePathIsNeverTakenFrom() throws Exception {
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(path));
            CompletableFuture<Void> talker = CompletableFuture.runAsync(() -> {
                try (SocketChannel client = other.accept()) {
                    client.write(ByteBuffer.wrap("+OK redis here\n".getBytes(StandardCharsets.US_ASCII)));
                    client.read(ByteBuffer.allocate(64));
                } catch (IOException ignored) {
                    // the newcomer hung up
                }
            });
            assertThatThrownBy(() -> ListenerTakeover.take(path, "server", null, 0))
                    .hasMessage(path + ": not a Grace handoff socket (it answered \"+OK redis here\")");
            talker.get(5, TimeUnit.SECONDS);

            long started = System.nanoTime();
            assertThatThrownBy(() -> ListenerTakeover.take(path, "server", null, 0))
                    .hasMessage(path + ": not a Grace handoff socket (no answer within 3000 ms)");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isBetween(Duration.ofMillis(2_900), Duration.ofSeconds(6));
        }
    }

    @Test
    void aNewcomerAskingForAnotherPortIsRefusedAndTheServerGoesOn() throws Exception {
        Server server = Server.start(options(), new EchoProtocol());
        try {
            HandoffPoint.open(path, "server", server, Map.of());
            int other = server.localAddress().getPort() == 65535 ? 65534 : server.localAddress().getPort() + 1;
            assertThatThrownBy(() -> ListenerTakeover.take(path, "server", null, other))
                    .hasMessage("port " + other + " asked, but the process at " + path + " (pid " + ProcessHandle.current().pid()
                            + ") listens on 127.0.0.1:" + server.localAddress().getPort() + ": refusing to take its listener");
            assertThatThrownBy(() -> ListenerTakeover.take(path, "server", "::1", 0)).hasMessageStartingWith("address ::1 asked");
            assertThat(server.isReady()).isTrue();
            try (Peer peer = Peer.connect(server.localAddress())) {
                peer.send("ok");
                assertThat(peer.readExactly(2)).hasSize(2);
            }
            // The refused newcomers cost the server nothing: a third one still gets the listener.
            try (ListenerTakeover takeover = ListenerTakeover.take(path, "server", "127.0.0.1", server.localAddress().getPort()).orElseThrow()) {
                assertThat(takeover.address()).isEqualTo(server.localAddress());
            }
            assertThat(server.isReady()).isTrue();
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aSecondNewcomerWaitsForTheFirstOnesTurnToEnd() throws Exception {
        Server server = Server.start(options(), new EchoProtocol());
        try {
            HandoffPoint.open(path, "server", server, Map.of());
            ListenerTakeover first = ListenerTakeover.take(path, "server", null, 0).orElseThrow();
            CompletableFuture<Optional<ListenerTakeover>> second = CompletableFuture.supplyAsync(() -> {
                try {
                    return ListenerTakeover.take(path, "server", null, 0);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            // The second newcomer hears "busy" and retries for as long as the first one holds its turn.
            assertThatThrownBy(() -> second.get(300, TimeUnit.MILLISECONDS)).isInstanceOf(java.util.concurrent.TimeoutException.class);
            first.close();       // the first one gives up; the server goes on and the second gets its turn
            try (ListenerTakeover taken = second.get(5, TimeUnit.SECONDS).orElseThrow()) {
                assertThat(taken.address()).isEqualTo(server.localAddress());
            }
            assertThat(server.isReady()).isTrue();
        } finally {
            server.stop().get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A newcomer that reached the old process just before another one took over is told
     * "moved", so it asks again at the path (now the new owner's) instead of binding a port of its own.
     */
    @Test
    void aServerThatHandedOverSendsLateNewcomersToTheNewOwner() throws Exception {
        Server old = Server.start(options(), new EchoProtocol());
        HandoffPoint oldPoint = HandoffPoint.open(path, "server", old, Map.of());
        Server newcomer = null;
        // A client that never sends its FIN keeps the old process draining, as a real one would be.
        try (Peer lingering = Peer.connect(old.localAddress()); SocketChannel late = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            lingering.send("x");
            lingering.readExactly(1);
            ListenerTakeover takeover = ListenerTakeover.take(path, "server", null, 0).orElseThrow();
            newcomer = Server.start(options().withInheritedListener(takeover.listenerFd()), new EchoProtocol());
            HandoffPoint.open(path, "server", newcomer, Map.of());
            takeover.confirm(newcomer);
            oldPoint.handedOver().get(10, TimeUnit.SECONDS);
            assertThat(old.terminationFuture()).isNotDone();

            late.write(ByteBuffer.wrap(("grace-handoff 1 server 1\n").getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer answer = ByteBuffer.allocate(64);
            late.read(answer);
            assertThat(new String(answer.array(), 0, answer.position(), StandardCharsets.US_ASCII)).isEqualTo("moved\n");

            try (ListenerTakeover next = ListenerTakeover.take(path, "server", null, 0).orElseThrow()) {
                assertThat(next.address()).isEqualTo(newcomer.localAddress());
            }
        } finally {
            old.stop();
            old.terminationFuture().get(10, TimeUnit.SECONDS);
            if (newcomer != null) {
                newcomer.stop().get(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aDrainingServerHandsNothingOverAndRemovesItsSocketFile() throws Exception {
        Server server = Server.start(options(), new EchoProtocol());
        HandoffPoint.open(path, "server", server, Map.of());
        assertThat(path).exists();
        server.stop().get(10, TimeUnit.SECONDS);
        assertThat(path).doesNotExist();
        assertThat(ListenerTakeover.take(path, "server", null, 0)).isEmpty();
    }

    @Test
    void anOldProcessThatGoesAwayMidHandoffLeavesTheNewcomerToBind() throws Exception {
        try (ServerSocketChannel dying = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dying.bind(UnixDomainSocketAddress.of(path));
            CompletableFuture<Void> offerThenDie = CompletableFuture.runAsync(() -> {
                try (SocketChannel client = dying.accept()) {
                    client.read(ByteBuffer.allocate(128));
                    client.write(ByteBuffer.wrap("offer server 1 0 service=127.0.0.1:7000\n".getBytes(StandardCharsets.US_ASCII)));
                    client.read(ByteBuffer.allocate(128));   // "send", then it dies before any descriptor
                } catch (IOException ignored) {
                    // the newcomer hung up
                }
            });
            assertThat(ListenerTakeover.take(path, "server", null, 0)).isEmpty();
            offerThenDie.get(5, TimeUnit.SECONDS);
        }
    }
}
