package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.grace.Transport;
import dev.grace.testkit.ConnectFlood;
import dev.grace.testkit.Peer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --handoff PATH} between real processes: a restart under a connect flood that refuses
 * and resets nothing, the admin listener passed along, the proxy's listener too, and every way
 * a newcomer is turned away or falls back to binding.
 */
class HandoffIT {
    @TempDir
    Path dir;
    Path path;

    @BeforeEach
    void epollOnly() {
        assumeTrue(Transport.EPOLL.isAvailable(), "handoff needs epoll");
        path = dir.resolve("grace.handoff");
    }

    private static InetSocketAddress awaitListeningFromHandoff(GraceProcess grace) throws InterruptedException {
        String line = grace.nextStdoutLine();
        assertThat(line).startsWith("listening on ").endsWith(GraceProcess.FROM_HANDOFF);
        String address = line.substring("listening on ".length(), line.length() - GraceProcess.FROM_HANDOFF.length());
        int colon = address.lastIndexOf(':');
        return new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
    }

    private static void assertEchoes(InetSocketAddress address, String text) throws IOException {
        try (Peer peer = Peer.connect(address)) {
            peer.send(text);
            peer.halfClose();
            Peer.ReadResult seen = peer.readToEnd();
            assertThat(seen.text()).isEqualTo(text);
            assertThat(seen.end()).isEqualTo(Peer.ReadResult.End.FIN);
        }
    }

    /** Waits (bounded) for the process's descriptor count to come back to {@code baseline}. */
    private static void awaitDescriptors(GraceProcess grace, long baseline) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long now = grace.openDescriptors();
        while (now != baseline && System.nanoTime() < deadline) {
            Thread.sleep(50);
            now = grace.openDescriptors();
        }
        assertThat(now).as("open descriptors of pid %d", grace.pid()).isEqualTo(baseline);
    }

    @Test
    void aRestartThroughHandoffUnderAConnectFloodRefusesResetsAndLosesNothing() throws Exception {
        try (GraceProcess old = GraceProcess.start("server", "--port", "0", "--admin-port", "0", "--drain-timeout", "10s",
                "--handoff", path.toString())) {
            InetSocketAddress admin = old.awaitAddressLine("admin on ");
            InetSocketAddress address = old.awaitListening();
            long baseline = old.openDescriptors();
            try (Peer idle = Peer.connect(address)) {
                idle.send("on the old one");
                assertThat(new String(idle.readExactly(14), StandardCharsets.US_ASCII)).isEqualTo("on the old one");
                ConnectFlood flood = ConnectFlood.start(address, 8);
                flood.awaitServed(100);

                try (GraceProcess newcomer = GraceProcess.start("server", "--port", "0", "--admin-port", String.valueOf(admin.getPort()),
                        "--drain-timeout", "10s", "--handoff", path.toString())) {
                    assertThat(newcomer.awaitAddressLine("admin on ")).isEqualTo(admin);
                    assertThat(awaitListeningFromHandoff(newcomer)).isEqualTo(address);
                    assertThat(old.awaitStderr("server: listeners handed over to pid "))
                            .isEqualTo("server: listeners handed over to pid " + newcomer.pid() + "; draining");

                    assertThat(idle.readToEnd().end()).as("the old process drains its own").isEqualTo(Peer.ReadResult.End.FIN);
                    idle.close();
                    assertThat(old.awaitExit(20)).isZero();
                    assertThat(old.stderr()).anyMatch(line -> line.startsWith("drained: graceful="));

                    flood.awaitEnd();
                    assertThat(flood.refused.get()).as(flood.toString()).isZero();
                    assertThat(flood.resetAfterConnect.get()).as(flood.toString()).isZero();
                    assertThat(flood.finWithEchoOwed.get()).as(flood.toString()).isZero();
                    assertThat(flood.served.get()).isGreaterThan(100);
                    assertEchoes(address, "on the new one");
                    awaitDescriptors(newcomer, baseline);
                    // After the count: the JDK's HttpClient keeps its connection open until it is collected.
                    assertThat(Http.get(admin, "/ready").status()).as("/ready from the new process").isEqualTo(200);

                    newcomer.signal("TERM");
                    assertThat(newcomer.awaitExit(20)).isZero();
                }
            }
        }
        assertThat(path).as("the last process removes the socket file").doesNotExist();
    }

    @Test
    void theProxyHandsItsListenerOverToo() throws Exception {
        try (GraceProcess upstream = GraceProcess.start("server", "--port", "0")) {
            InetSocketAddress echo = upstream.awaitListening();
            String to = "127.0.0.1:" + echo.getPort();
            try (GraceProcess old = GraceProcess.start("proxy", "--listen", "127.0.0.1:0", "--to", to, "--handoff", path.toString())) {
                InetSocketAddress address = old.awaitListening();
                try (GraceProcess newcomer = GraceProcess.start("proxy", "--listen", "127.0.0.1:" + address.getPort(), "--to", to,
                        "--handoff", path.toString())) {
                    assertThat(awaitListeningFromHandoff(newcomer)).isEqualTo(address);
                    assertThat(old.awaitExit(20)).isZero();
                    assertEchoes(address, "through the new proxy");
                    newcomer.signal("TERM");
                    assertThat(newcomer.awaitExit(20)).isZero();
                }
            }
            upstream.signal("TERM");
            assertThat(upstream.awaitExit(20)).isZero();
        }
    }

    @Test
    void aNewcomerOfAnotherPortOrCommandIsRefusedNamingBothAndTheOldOneServesOn() throws Exception {
        try (GraceProcess old = GraceProcess.start("server", "--port", "0", "--handoff", path.toString())) {
            InetSocketAddress address = old.awaitListening();
            int other = address.getPort() == 65535 ? 65534 : address.getPort() + 1;
            try (GraceProcess wrongPort = GraceProcess.start("server", "--port", String.valueOf(other), "--handoff", path.toString())) {
                assertThat(wrongPort.awaitExit(20)).isEqualTo(ExitCode.IO_FAILURE);
                assertThat(wrongPort.stderr()).containsExactly("server: port " + other + " asked, but the process at " + path
                        + " (pid " + old.pid() + ") listens on 127.0.0.1:" + address.getPort() + ": refusing to take its listener");
            }
            try (GraceProcess proxy = GraceProcess.start("proxy", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:" + address.getPort(),
                    "--handoff", path.toString())) {
                assertThat(proxy.awaitExit(20)).isEqualTo(ExitCode.IO_FAILURE);
                assertThat(proxy.stderr()).containsExactly("proxy: the process at " + path + " (pid " + old.pid()
                        + ") is a server, not a proxy: refusing to take its listener");
            }
            assertEchoes(address, "still the old one");
            old.signal("TERM");
            assertThat(old.awaitExit(20)).isZero();
        }
        assertThat(path).doesNotExist();
    }

    @Test
    void aRegularFileOrAnotherProgramAtThePathExitsOneNamingItAndIsLeftAlone() throws Exception {
        Files.writeString(path, "notes");
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--handoff", path.toString())) {
            assertThat(grace.awaitExit(20)).isEqualTo(ExitCode.IO_FAILURE);
            assertThat(grace.stderr()).containsExactly("server: " + path + " is not a socket: refusing to replace it");
        }
        assertThat(Files.readString(path)).isEqualTo("notes");

        Path taken = dir.resolve("someone-else.sock");
        try (ServerSocketChannel silent = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            silent.bind(UnixDomainSocketAddress.of(taken));
            long started = System.nanoTime();
            try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--handoff", taken.toString())) {
                assertThat(grace.awaitExit(20)).isEqualTo(ExitCode.IO_FAILURE);
                assertThat(grace.stderr()).containsExactly("server: " + taken + ": not a Grace handoff socket (no answer within 3000 ms)");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
            assertThat(Files.exists(taken)).as("the other program's socket is still there").isTrue();
        }
    }

    @Test
    void aStaleFileOfAKilledProcessIsReplacedAndTheNewcomerBinds() throws Exception {
        int port;
        try (GraceProcess killed = GraceProcess.start("server", "--port", "0", "--handoff", path.toString())) {
            port = killed.awaitListening().getPort();
            killed.signal("KILL");
            killed.awaitExit(20);
        }
        assertThat(path).as("a killed process leaves its socket file").exists();
        try (GraceProcess grace = GraceProcess.start("server", "--port", String.valueOf(port), "--handoff", path.toString())) {
            assertThat(grace.nextStdoutLine()).isEqualTo("listening on 127.0.0.1:" + port);
            assertEchoes(new InetSocketAddress("127.0.0.1", port), "bound anew");
            // ...and it serves handoffs at the path from now on.
            try (GraceProcess next = GraceProcess.start("server", "--port", "0", "--handoff", path.toString())) {
                assertThat(awaitListeningFromHandoff(next).getPort()).isEqualTo(port);
                assertThat(grace.awaitExit(20)).isZero();
                next.signal("TERM");
                assertThat(next.awaitExit(20)).isZero();
            }
        }
    }

    @Test
    void twoNewcomersAtOnceTakeTurnsAndExactlyOneIsLeftServing() throws Exception {
        try (GraceProcess old = GraceProcess.start("server", "--port", "0", "--handoff", path.toString())) {
            InetSocketAddress address = old.awaitListening();
            ConnectFlood flood = ConnectFlood.start(address, 4);
            flood.awaitServed(50);
            List<GraceProcess> newcomers = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    newcomers.add(GraceProcess.start("server", "--port", "0", "--handoff", path.toString()));
                }
                assertThat(old.awaitExit(30)).isZero();
                // The first to get its turn takes over; the other waits for it, then takes over from it.
                GraceProcess last = null;
                for (GraceProcess newcomer : newcomers) {
                    assertThat(awaitListeningFromHandoff(newcomer)).isEqualTo(address);
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (newcomers.stream().filter(p -> p.process().isAlive()).count() > 1 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                for (GraceProcess newcomer : newcomers) {
                    if (newcomer.process().isAlive()) {
                        assertThat(last).as("one process left serving").isNull();
                        last = newcomer;
                    } else {
                        assertThat(newcomer.awaitExit(1)).isZero();
                        assertThat(newcomer.stderr()).anyMatch(line -> line.startsWith("server: listeners handed over to pid "));
                    }
                }
                assertThat(last).isNotNull();
                flood.awaitEnd();
                assertThat(flood.refused.get()).as(flood.toString()).isZero();
                assertThat(flood.resetAfterConnect.get()).as(flood.toString()).isZero();
                assertEchoes(address, "the last one");
                last.signal("TERM");
                assertThat(last.awaitExit(20)).isZero();
            } finally {
                for (GraceProcess newcomer : newcomers) {
                    newcomer.close();
                }
            }
        }
    }

    @Test
    void underSocketActivationTheInheritedSocketIsTheListenerAndThePathServesHandoffs() throws Exception {
        try (GraceProcess activated = SocketActivationIT.activated(0, "server", "--drain-timeout", "5s", "--handoff", path.toString())) {
            int port = SocketActivationIT.inheritedPort(activated);
            assertThat(activated.nextStdoutLine()).isEqualTo("listening on 127.0.0.1:" + port);
            try (GraceProcess newcomer = GraceProcess.start("server", "--port", String.valueOf(port), "--handoff", path.toString())) {
                assertThat(awaitListeningFromHandoff(newcomer).getPort()).isEqualTo(port);
                assertThat(activated.awaitExit(20)).isZero();
                assertEchoes(new InetSocketAddress("127.0.0.1", port), "systemd's socket, the newcomer's now");
                newcomer.signal("TERM");
                assertThat(newcomer.awaitExit(20)).isZero();
            }
        }
    }

    @Test
    void handoffNeedsEpoll() throws Exception {
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--transport", "nio", "--handoff", path.toString())) {
            assertThat(grace.awaitExit(20)).isEqualTo(ExitCode.USAGE);
            assertThat(grace.stderr()).containsExactly("server: Invalid value for option '--handoff': passing a listening socket needs "
                    + "the epoll transport on Linux (--transport nio)");
        }
        assertThat(path).doesNotExist();
    }
}
