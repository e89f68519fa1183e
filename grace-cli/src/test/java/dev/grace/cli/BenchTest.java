package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import dev.grace.testkit.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code grace bench} in-process against Grace's echo server and against a server that corrupts one byte. */
class BenchTest {
    private Server echo;

    @BeforeEach
    void startEcho() throws IOException {
        echo = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol());
    }

    @AfterEach
    void stopEcho() {
        echo.close();
    }

    private String target() {
        return "127.0.0.1:" + echo.localAddress().getPort();
    }

    @ParameterizedTest
    @ValueSource(strings = {"echo", "stream", "churn"})
    void everyModeVerifiesItsBytesAndEndsEveryConnectionWithFin(String mode) {
        CommandLineTest.Run run = CommandLineTest.run("bench", mode, "--target", target(), "-c", "4", "-d", "500ms");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out().strip()).startsWith("bench " + mode + " target=" + target() + " connections=4 ")
                .matches(".* operations=[1-9]\\d* .*")
                .matches(".* reset=0 timeout=0");
        assertThat(run.err()).contains(mode + " ");
    }

    @Test
    void jsonCarriesTheSameFigures() {
        CommandLineTest.Run run = CommandLineTest.run("bench", "echo", "--target", target(), "-c", "2", "-d", "300ms", "--json");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out().strip()).startsWith("{\"mode\": \"echo\", \"target\": \"" + target() + "\", \"connections\": 2, \"size\": 64, ")
                .contains("\"latency_us\": {\"p50\": ").endsWith("\"mismatch\": null}");
    }

    @Test
    void aWrongByteEndsTheRunWithExitOneNamingConnectionAndOffset() throws Exception {
        ExecutorService threads = Executors.newCachedThreadPool();
        try (ServerSocket corrupting = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            threads.execute(() -> {
                try (Socket socket = corrupting.accept()) {
                    InputStream in = socket.getInputStream();
                    OutputStream out = socket.getOutputStream();
                    long offset = 0;
                    for (int b; (b = in.read()) != -1; offset++) {
                        out.write(offset == 100 ? b ^ 0xff : b);
                        out.flush();
                    }
                } catch (IOException e) {
                    // The bench aborts the connection once it sees the wrong byte.
                }
            });
            CommandLineTest.Run run = CommandLineTest.run("bench", "echo", "--target",
                    "127.0.0.1:" + corrupting.getLocalPort(), "-c", "1", "-d", "5s");

            assertThat(run.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
            assertThat(run.err()).contains("bench: data mismatch on connection 0 at byte 100");
        } finally {
            threads.shutdownNow();
            threads.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"echo", "churn"})
    void aFinWithEchoStillOwedIsDataLossNotACleanEnd(String mode) throws Exception {
        ExecutorService threads = Executors.newCachedThreadPool();
        try (ServerSocket truncating = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            // Echoes the first 100 bytes, then sends FIN and reads on: what a proxy that turns
            // the client's half-close into a full close does to the tail of the answer.
            threads.execute(() -> {
                try (Socket socket = truncating.accept()) {
                    InputStream in = socket.getInputStream();
                    OutputStream out = socket.getOutputStream();
                    byte[] chunk = new byte[64];
                    long echoed = 0;
                    for (int n; (n = in.read(chunk)) != -1; ) {
                        int owed = (int) Math.min(n, Math.max(0, 100 - echoed));
                        out.write(chunk, 0, owed);
                        echoed += owed;
                        if (echoed == 100 && !socket.isOutputShutdown()) {
                            socket.shutdownOutput();
                        }
                    }
                } catch (IOException e) {
                    // The bench aborts the connection once it sees the FIN.
                }
            });
            CommandLineTest.Run run = CommandLineTest.run("bench", mode, "--target",
                    "127.0.0.1:" + truncating.getLocalPort(), "-c", "1", "-s", mode.equals("churn") ? "150" : "64", "-d", "5s");

            assertThat(run.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
            assertThat(run.err()).contains("bench: data mismatch on connection 0 at byte 100: the server's FIN came after 100 of "
                    + (mode.equals("churn") ? "150" : "128") + " bytes");
        } finally {
            threads.shutdownNow();
            threads.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Churn from three chosen ports, many sessions in a row: the bench finishes first, so each
     * session leaves its port in TIME_WAIT, which the next session from that port takes over.
     */
    @Test
    void churnConnectsOnlyFromTheChosenSourcePorts() throws Exception {
        int low = Ports.freeRunBelowEphemeral(3);
        List<Integer> seen = new CopyOnWriteArrayList<>();
        ExecutorService threads = Executors.newCachedThreadPool();
        try (ServerSocket echoing = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            threads.execute(() -> {
                while (true) {
                    try (Socket socket = echoing.accept()) {
                        seen.add(socket.getPort());
                        socket.getOutputStream().write(socket.getInputStream().readAllBytes());
                    } catch (IOException e) {
                        return; // the listener closed at the end of the test
                    }
                }
            });
            CommandLineTest.Run run = CommandLineTest.run("bench", "churn", "--target", "127.0.0.1:" + echoing.getLocalPort(),
                    "-c", "1", "-d", "500ms", "--source-ports", low + "-" + (low + 2));

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.out()).contains(" reset=0 timeout=0");
        } finally {
            threads.shutdownNow();
            threads.awaitTermination(10, TimeUnit.SECONDS);
        }
        assertThat(seen).hasSizeGreaterThan(3).allSatisfy(port -> assertThat(port).isBetween(low, low + 2));
    }

    @Test
    void badSettingsAreUsageErrors() {
        assertThat(CommandLineTest.run("bench", "echo", "--target", target(), "-c", "0").err().strip())
                .isEqualTo("bench: Invalid value for option '--connections': '0' must be between 1 and 100000");
        assertThat(CommandLineTest.run("bench", "flood", "--target", target()).err().strip())
                .startsWith("bench: Invalid value for positional parameter at index 0 (echo|stream|churn): expected one of [ECHO, STREAM, CHURN]");
        assertThat(CommandLineTest.run("bench", "echo", "--target", target(), "-s", "12x").exitCode()).isEqualTo(ExitCode.USAGE);
        assertThat(CommandLineTest.run("bench", "echo").err().strip()).isEqualTo("bench: Missing required option: '--target=HOST:PORT'");
    }
}
