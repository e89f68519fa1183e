package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import dev.grace.testkit.Ports;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code grace proxy} as a real process in front of an in-test Grace echo server. */
class ProxyProcessIT {
    private static final Pattern RELAYED_LINE = Pattern.compile("relayed client=127\\.0\\.0\\.1:\\d+ upstream=127\\.0\\.0\\.1:\\d+ "
            + "first=(client|upstream) client_to_upstream=(FIN|RST) upstream_to_client=(FIN|RST) bytes_to_upstream=\\d+ "
            + "bytes_to_client=\\d+ client_outcome=[A-Z_]+ upstream_outcome=[A-Z_]+ ms=\\d+");
    private Server echo;

    @BeforeEach
    void startEcho() throws IOException {
        echo = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol());
    }

    @AfterEach
    void stopEcho() {
        echo.close();
    }

    private GraceProcess proxy(String... extra) throws IOException {
        String[] args = new String[4 + extra.length];
        args[0] = "proxy";
        args[1] = "--listen=127.0.0.1:0";
        args[2] = "--to=127.0.0.1:" + echo.localAddress().getPort();
        args[3] = "--drain-timeout=20s";
        System.arraycopy(extra, 0, args, 4, extra.length);
        return GraceProcess.start(args);
    }

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, 5_000);
        socket.setSoTimeout(15_000);
        return socket;
    }

    /** A source port another program holds costs no client its session, and the metrics count the refusal. */
    @Test
    void aRefusedSourcePortIsCountedAndTheNextOneServesTheClient() throws Exception {
        int low = Ports.freeRunBelowEphemeral(3);
        try (ServerSocket holder = new ServerSocket(low, 1, InetAddress.getLoopbackAddress());
                GraceProcess grace = proxy("--admin-port=0", "--upstream-source-ports=" + low + "-" + (low + 2))) {
            InetSocketAddress admin = grace.awaitAddressLine("admin on ");
            InetSocketAddress address = grace.awaitListening();
            for (int i = 0; i < 3; i++) {
                try (Socket client = connect(address)) {
                    client.getOutputStream().write(("hello " + i).getBytes(StandardCharsets.US_ASCII));
                    client.shutdownOutput();
                    assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("hello " + i);
                }
                grace.awaitStderr("relayed ");
            }
            String metrics = Http.get(admin, "/metrics").body();
            assertThat(Http.metric(metrics, "grace_upstream_source_port_refusals_total")).isEqualTo(1);
            assertThat(Http.metric(metrics, "grace_upstream_source_port_attempts_total")).isEqualTo(4);
            assertThat(Http.metric(metrics, "grace_upstream_source_port_kernel_choices_total")).isZero();
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
        }
    }

    @Test
    void relaysExactBytesAndPrintsOneLinePerSession() throws Exception {
        byte[] payload = new byte[4 * 1024 * 1024];
        new Random(4).nextBytes(payload);
        try (GraceProcess grace = proxy()) {
            InetSocketAddress address = grace.awaitListening();
            try (Socket client = connect(address)) {
                CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> {
                    try {
                        return client.getInputStream().readAllBytes();
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
                client.getOutputStream().write(payload);
                client.shutdownOutput();
                assertThat(echoed.get()).isEqualTo(payload);
            }
            String line = grace.awaitStderr("relayed ");
            assertThat(line).matches(RELAYED_LINE)
                    .contains("first=client client_to_upstream=FIN upstream_to_client=FIN")
                    .contains("bytes_to_upstream=" + payload.length + " bytes_to_client=" + payload.length);
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
        }
    }

    @Test
    void sigtermRefusesNewClientsLetsRelayingSessionsFinishAndExitsZero() throws Exception {
        try (GraceProcess grace = proxy()) {
            InetSocketAddress address = grace.awaitListening();
            Socket relaying = connect(address);
            relaying.getOutputStream().write("before the signal, ".getBytes());
            assertThat(new String(relaying.getInputStream().readNBytes(19))).isEqualTo("before the signal, ");

            grace.signal("TERM");
            long deadline = System.nanoTime() + 5_000_000_000L;
            boolean refused = false;
            while (!refused && System.nanoTime() < deadline) {
                try (Socket late = connect(address)) {
                    Thread.onSpinWait();
                } catch (ConnectException e) {
                    refused = true;
                }
            }
            assertThat(refused).as("the listener closes right after the signal").isTrue();
            relaying.getOutputStream().write("and after it".getBytes());
            relaying.shutdownOutput();
            assertThat(new String(relaying.getInputStream().readAllBytes())).isEqualTo("and after it");
            relaying.close();
            int exit = grace.awaitExit(20);

            assertThat(exit).isZero();
            // Connects that beat the listener's close were served too: every session ended gracefully.
            assertThat(grace.awaitStderr("drained:")).matches("drained: graceful=[1-9]\\d* aborted_at_deadline=0 reset_by_peer=0 aborted=0 error=0 .*");
            assertThatThrownBy(() -> connect(address).close()).isInstanceOf(ConnectException.class);
        }
    }

    @Test
    void refusedUpstreamResetsTheClientAndSaysWhy() throws Exception {
        int port;
        try (java.net.ServerSocket closedAgain = new java.net.ServerSocket(0)) {
            port = closedAgain.getLocalPort();
        }
        try (GraceProcess grace = GraceProcess.start("proxy", "--listen=127.0.0.1:0", "--to=127.0.0.1:" + port)) {
            InetSocketAddress address = grace.awaitListening();
            try (Socket client = connect(address)) {
                assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(IOException.class).hasMessage("Connection reset");
            }
            assertThat(grace.awaitStderr("upstream failed ")).endsWith("upstream=127.0.0.1:" + port + " reason=\"Connection refused\"");
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
        }
    }

    @Test
    void upstreamSourcePortsAreTheOnlyPortsTheProxyConnectsFrom() throws Exception {
        int low = Ports.freeRunBelowEphemeral(4);
        List<Integer> seen = new ArrayList<>();
        try (ServerSocket backend = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                GraceProcess grace = GraceProcess.start("proxy", "--listen=127.0.0.1:0", "--to=127.0.0.1:" + backend.getLocalPort(),
                        "--upstream-source-ports=" + low + "-" + (low + 3))) {
            InetSocketAddress address = grace.awaitListening();
            for (int i = 0; i < 8; i++) {
                try (Socket client = connect(address)) {
                    client.getOutputStream().write(("session " + i).getBytes(StandardCharsets.US_ASCII));
                    client.shutdownOutput();
                    try (Socket upstream = backend.accept()) {
                        seen.add(upstream.getPort());
                        upstream.setSoTimeout(15_000);
                        upstream.getOutputStream().write(upstream.getInputStream().readAllBytes());
                    }
                    assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("session " + i);
                }
            }
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
            assertThat(grace.stderr()).filteredOn(line -> line.startsWith("relayed ")).hasSize(8)
                    .allSatisfy(line -> assertThat(line).contains("client_outcome=FIN_BOTH_WAYS upstream_outcome=FIN_BOTH_WAYS"));
        }
        assertThat(seen).hasSize(8).allSatisfy(port -> assertThat(port).isBetween(low, low + 3));
    }
}
