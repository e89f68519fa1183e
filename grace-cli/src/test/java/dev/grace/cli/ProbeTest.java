package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.cli.probe.Check;
import dev.grace.cli.probe.Check.Verdict;
import dev.grace.cli.probe.Probe;
import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Misbehaviour;
import dev.grace.testkit.PeerServer;
import dev.grace.testkit.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The probe against servers that each misbehave in exactly one way, and against Grace's own echo
 * server. Every misbehaving server is a {@link PeerServer}: a plain server socket, one thread per
 * connection, playing one {@link Misbehaviour} or, for a one-off, a script of its own.
 */
@ExtendWith(FdLeakCheck.class)
class ProbeTest {
    private static final byte[] PING = "PING\r\n".getBytes(StandardCharsets.UTF_8);

    /** Reads one chunk (the request, or the start of it), at most 1 KiB. */
    private static int readRequest(Socket socket) throws IOException {
        return socket.getInputStream().read(new byte[1024]);
    }

    private static void answer(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
    }

    /** Reads until EOF (a polite server after its answer), discarding. */
    private static void drain(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[16 * 1024];
        while (in.read(buffer) != -1) {
            // discard
        }
    }

    private static java.util.Map<String, Check> probe(InetSocketAddress target) throws Exception {
        List<Check> checks = new Probe(target, PING, null, Duration.ofSeconds(2), Duration.ofMillis(800)).run();
        assertThat(checks).extracting(Check::name).containsExactly(
                "baseline", "half-close", "unread-input", "reset-recovery", "concurrent-half-close", "abort-during-response", "idle");
        return checks.stream().collect(Collectors.toMap(Check::name, Function.identity()));
    }

    @Test
    void plainCloseWithUnreadInputIsAFailBecauseOfTheReset() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.CLOSES_WITH_INPUT_UNREAD, "+PONG\r\n")) {
            var checks = probe(server.address());

            assertThat(checks.get("unread-input").verdict()).isEqualTo(Verdict.FAIL);
            assertThat(checks.get("unread-input").evidence()).contains("RST").contains("on loopback the kernel keeps data readable");
            assertThat(checks.get("half-close").verdict()).isEqualTo(Verdict.PASS);
        }
    }

    @Test
    void finThenResetWithinMillisecondsIsSeenAsAReset() throws Exception {
        try (PeerServer server = PeerServer.scripted((socket, s) -> {
            readRequest(socket);
            answer(socket, "+PONG\r\n");
            socket.shutdownOutput();
            Thread.sleep(2);
            // close() with unread input right after the FIN: a plain read sees only the FIN.
        })) {
            var checks = probe(server.address());

            assertThat(checks.get("unread-input").verdict()).isEqualTo(Verdict.FAIL);
            assertThat(checks.get("unread-input").evidence()).contains("then FIN, then RST");
        }
    }

    @Test
    void aServerThatDiesOnAResetFailsResetRecovery() throws Exception {
        try (PeerServer server = PeerServer.scripted((socket, s) -> {
            try {
                readRequest(socket);
                answer(socket, "+PONG\r\n");
                drain(socket);
            } catch (SocketException reset) {
                s.stopListening();
            }
        })) {
            var checks = probe(server.address());

            assertThat(checks.get("reset-recovery").verdict()).isEqualTo(Verdict.FAIL);
            assertThat(checks.get("baseline").evidence()).contains("+PONG");
        }
    }

    @Test
    void idleConnectionsClosedWithResetAreAWarning() throws Exception {
        try (PeerServer server = PeerServer.scripted((socket, s) -> {
            socket.setSoTimeout(300);
            try {
                readRequest(socket);
                answer(socket, "+PONG\r\n");
                drain(socket);
            } catch (java.net.SocketTimeoutException idle) {
                socket.setSoLinger(true, 0);
            }
        })) {
            var checks = probe(server.address());

            assertThat(checks.get("idle").verdict()).isEqualTo(Verdict.WARN);
            assertThat(checks.get("idle").evidence()).contains("RST");
        }
    }

    @Test
    void anErrorAnswerShowsInTheBaselineAndIsNeverAPass() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING,
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")) {
            var checks = probe(server.address());

            assertThat(checks.get("baseline").verdict()).isEqualTo(Verdict.INFO);
            assertThat(checks.get("baseline").evidence()).contains("HTTP/1.1 400 Bad Request");
        }
    }

    @Test
    void finWithoutAnyAnswerAfterOurHalfCloseIsAWarningWhenTheServerAnswersOtherwise() throws Exception {
        try (PeerServer server = PeerServer.scripted((socket, s) -> {
            readRequest(socket);
            socket.setSoTimeout(100);
            try {
                if (socket.getInputStream().read() == -1) {
                    socket.shutdownOutput();
                    return;
                }
            } catch (java.net.SocketTimeoutException stillOpen) {
                // No FIN behind the request: answer it.
            }
            answer(socket, "+PONG\r\n");
            socket.shutdownOutput();
            socket.setSoTimeout(5_000);
            drain(socket);
        })) {
            var checks = probe(server.address());

            assertThat(checks.get("baseline").evidence()).contains("7 bytes (\"+PONG\") then FIN");
            assertThat(checks.get("half-close").verdict()).isEqualTo(Verdict.WARN);
            assertThat(checks.get("half-close").evidence()).contains("answers nothing once it sees our FIN");
        }
    }

    @Test
    void finWithoutAnyAnswerEvenNormallyLeavesTheHalfCloseCheckUnexercised() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, "")) {
            var checks = probe(server.address());

            assertThat(checks.get("baseline").evidence()).contains("0 bytes then FIN");
            assertThat(checks.get("half-close").verdict()).isEqualTo(Verdict.INFO);
            assertThat(checks.get("half-close").evidence()).startsWith("not exercised, the server answers nothing even normally");
        }
    }

    @Test
    void graceServerHasNoFailAndNoWarning() throws Exception {
        Server grace = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol());
        try {
            var checks = probe(grace.localAddress());

            assertThat(checks.values()).allMatch(check -> check.verdict() == Verdict.PASS || check.verdict() == Verdict.INFO,
                    "no FAIL, no WARN: " + checks.values());
            assertThat(checks.get("half-close").verdict()).isEqualTo(Verdict.PASS);
            assertThat(checks.get("concurrent-half-close").verdict()).isEqualTo(Verdict.PASS);
        } finally {
            grace.close();
        }
    }

    @Test
    void refusedTargetExitsOneAndJsonCarriesEveryCheck() throws Exception {
        int port = Ports.refused().getPort();
        CommandLineTest.Run refused = CommandLineTest.run("probe", "127.0.0.1:" + port);
        assertThat(refused.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
        assertThat(refused.err().strip()).isEqualTo("probe: cannot connect to 127.0.0.1:" + port + ": Connection refused");

        Server grace = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol());
        try {
            StringWriter out = new StringWriter();
            int code = Main.commandLine(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true))
                    .execute("probe", "127.0.0.1:" + grace.localAddress().getPort(), "--json", "--idle-wait", "500ms", "--timeout", "2s");
            assertThat(code).isZero();
            assertThat(out.toString().strip())
                    .startsWith("{\"target\": \"127.0.0.1:" + grace.localAddress().getPort() + "\", \"checks\": [{\"name\": \"baseline\"")
                    .contains("{\"name\": \"idle\", \"verdict\": \"INFO\"")
                    .endsWith("}]}");
        } finally {
            grace.close();
        }
    }

    @Test
    void aServerThatNeverAnswersNorClosesStillLetsTheRunEndWithinIdleWaitPlusFifteenSeconds() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.NEVER_SENDS_FIN, "")) {
            long start = System.nanoTime();
            List<Check> checks = new Probe(server.address(), PING, null, Duration.ofSeconds(5), Duration.ofSeconds(1)).run();
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);

            assertThat(seconds).isLessThanOrEqualTo(1 + 15 + 2);
            assertThat(checks).hasSize(7);
            assertThat(checks.get(0).evidence()).contains("0 bytes");
            assertThat(checks).filteredOn(check -> check.verdict() == Verdict.FAIL).as("nothing was exercised").isEmpty();
        }
    }

    @Test
    void requestFromAFileIsSentByteForByteWithSpacesCrlfAndBinary() throws Exception {
        java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
        request.writeBytes("GET /a%20b HTTP/1.1\r\nHost: x y\r\nX-Raw: \\r\\n ".getBytes(StandardCharsets.ISO_8859_1));
        request.writeBytes(new byte[] {0, (byte) 0xff, (byte) 0xfe, '\t', (byte) 0xc3});
        request.writeBytes("\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        byte[] expected = request.toByteArray();
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("grace-probe-");
        java.nio.file.Path file = java.nio.file.Files.write(dir.resolve("request with spaces.txt"), expected);
        java.util.Queue<byte[]> received = new java.util.concurrent.ConcurrentLinkedQueue<>();
        try (PeerServer server = PeerServer.scripted((socket, s) -> {
            byte[] got = socket.getInputStream().readNBytes(expected.length);
            if (got.length == expected.length) {
                received.add(got);
            }
            answer(socket, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            socket.shutdownOutput();
            drain(socket);
        })) {
            CommandLineTest.Run run = CommandLineTest.run("probe", "127.0.0.1:" + server.address().getPort(),
                    "--request", "@" + file, "--idle-wait", "500ms", "--timeout", "2s");

            assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
            assertThat(run.out()).contains("the request sent normally: 38 bytes (\"HTTP/1.1 200 OK\")");
            assertThat(received).isNotEmpty().allSatisfy(bytes -> assertThat(bytes).isEqualTo(expected));
        } finally {
            java.nio.file.Files.delete(file);
            java.nio.file.Files.delete(dir);
        }
    }

    @Test
    void aServerThatAnswersNothingAndFinsSlowlyFailsNoCheckItNeverExercised() throws Exception {
        // HAProxy in TCP mode with its backend down: nothing, then FIN once its connect retries ran out.
        try (PeerServer server = PeerServer.scripted((socket, s) -> {
            Thread.sleep(1_500);
            socket.shutdownOutput();
            socket.setSoTimeout(5_000);
            drain(socket);
        })) {
            long start = System.nanoTime();
            var checks = new Probe(server.address(), PING, null, Duration.ofSeconds(5), Duration.ofSeconds(1)).run()
                    .stream().collect(Collectors.toMap(Check::name, Function.identity()));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);

            assertThat(checks.get("baseline").evidence()).contains("0 bytes then FIN");
            assertThat(checks.values()).noneMatch(check -> check.verdict() == Verdict.FAIL || check.verdict() == Verdict.WARN);
            for (String check : List.of("half-close", "reset-recovery", "concurrent-half-close", "abort-during-response")) {
                assertThat(checks.get(check).verdict()).as("%s", checks.get(check)).isEqualTo(Verdict.INFO);
                assertThat(checks.get(check).evidence()).startsWith("not exercised, the server answers nothing even normally");
            }
            assertThat(checks.get("concurrent-half-close").evidence()).contains("100/100 ended with FIN");
            assertThat(checks.get("reset-recovery").evidence()).contains("the next client got 0 bytes then FIN");
            assertThat(checks.get("unread-input").verdict()).isEqualTo(Verdict.PASS);
            assertThat(seconds).isLessThanOrEqualTo(1 + 15);
        }
    }

    @Test
    void connectsATinyListenBacklogDropsAreAWarningAndToldApartFromResets() throws Exception {
        // Backlog 1, one accept every 20 ms: a burst of 100 connects overflows the accept queue.
        try (PeerServer server = PeerServer.start(1, 20, Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, "+PONG\r\n")) {
            var checks = new Probe(server.address(), PING, null, Duration.ofSeconds(2), Duration.ofMillis(500)).run()
                    .stream().collect(Collectors.toMap(Check::name, Function.identity()));
            Check concurrent = checks.get("concurrent-half-close");

            assertThat(concurrent.verdict()).as("%s", concurrent).isEqualTo(Verdict.WARN);
            assertThat(concurrent.evidence())
                    .containsPattern("^\\d+/100 got the whole response then FIN, .*(before any byte|could not connect)")
                    .containsPattern("tried again one at a time, \\d+ got the whole response then FIN: the listen backlog overflowed")
                    .doesNotContain("again, alone", "reset during the response", "left open");
            assertThat(checks.get("half-close").verdict()).isEqualTo(Verdict.PASS);
        }
    }
}
