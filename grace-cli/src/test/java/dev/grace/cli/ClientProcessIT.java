package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code grace client} as a real process against servers written here. */
class ClientProcessIT {

    @Test
    void echoesSixtyFourMebibytesExactlyInSixtyFourMebibytesOfHeap() throws Exception {
        Path input = Files.createTempFile("grace-client-in-", ".bin");
        Path output = Files.createTempFile("grace-client-out-", ".bin");
        Random random = new Random(64);
        byte[] chunk = new byte[1024 * 1024];
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        try (OutputStream out = Files.newOutputStream(input)) {
            for (int i = 0; i < 64; i++) {
                random.nextBytes(chunk);
                sent.update(chunk);
                out.write(chunk);
            }
        }
        Server server = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol());
        try (GraceProcess client = GraceProcess.start(List.of("-Xmx64m"), input.toFile(), output.toFile(),
                "client", "127.0.0.1:" + server.localAddress().getPort())) {
            int exit = client.awaitExit(120);

            assertThat(exit).as("stderr: %s", client.stderr()).isZero();
            assertThat(Files.size(output)).isEqualTo(64L * 1024 * 1024);
            assertThat(digest(output)).isEqualTo(sent.digest());
        } finally {
            server.close();
            Files.deleteIfExists(input);
            Files.deleteIfExists(output);
        }
    }

    private static byte[] digest(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1024 * 1024];
            for (int n; (n = in.read(buffer)) != -1; ) {
                digest.update(buffer, 0, n);
            }
        }
        return digest.digest();
    }

    @Test
    void serverResetExitsThreeSayingHowManyBytesArrived() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> resetter = CompletableFuture.runAsync(() -> {
                try (Socket peer = listener.accept()) {
                    peer.getOutputStream().write("0123456789".getBytes());
                    peer.getInputStream().readNBytes(5);
                    peer.setSoLinger(true, 0);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (GraceProcess client = GraceProcess.start("client", "127.0.0.1:" + listener.getLocalPort())) {
                client.process().getOutputStream().write("hello".getBytes());
                client.process().getOutputStream().flush();
                resetter.get();
                int exit = client.awaitExit(20);

                assertThat(exit).isEqualTo(ExitCode.PEER_RESET);
                assertThat(client.stderr()).contains("client: connection reset by peer after 10 bytes");
            }
        }
    }

    @Test
    void refusedPortExitsOneNamingTheAddress() throws Exception {
        int port;
        try (ServerSocket closedAgain = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            port = closedAgain.getLocalPort();
        }
        try (GraceProcess client = GraceProcess.start("client", "127.0.0.1:" + port)) {
            int exit = client.awaitExit(20);

            assertThat(exit).isEqualTo(ExitCode.IO_FAILURE);
            assertThat(client.stderr()).containsExactly("client: cannot connect to 127.0.0.1:" + port + ": Connection refused");
        }
    }

    @Test
    void silenceLongerThanTheTimeoutExitsFour() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                GraceProcess client = GraceProcess.start("client", "127.0.0.1:" + listener.getLocalPort(), "--timeout", "500ms");
                Socket silent = listener.accept()) {
            int exit = client.awaitExit(20);

            assertThat(exit).isEqualTo(ExitCode.TIMEOUT);
            assertThat(client.stderr()).containsExactly("client: timeout: nothing sent or received for 500ms");
        }
    }

    @Test
    void closeAbortSendsEverythingThenResetsAndExitsZero() throws Exception {
        Path input = Files.createTempFile("grace-abort-", ".bin");
        Files.write(input, "all of it".getBytes());
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
                ByteArrayOutputStream received = new ByteArrayOutputStream();
                try (Socket peer = listener.accept()) {
                    InputStream in = peer.getInputStream();
                    for (int b; (b = in.read()) != -1; ) {
                        received.write(b);
                    }
                    return received + " then FIN";
                } catch (SocketException e) {
                    return received + " then " + e.getMessage();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (GraceProcess client = GraceProcess.start(List.of(), input.toFile(), null,
                    "client", "127.0.0.1:" + listener.getLocalPort(), "--close", "abort")) {
                int exit = client.awaitExit(20);

                assertThat(exit).as("stderr: %s", client.stderr()).isZero();
                assertThat(seen.get()).isEqualTo("all of it then Connection reset");
            }
        } finally {
            Files.deleteIfExists(input);
        }
    }

    private static final int STDIN_BYTES = 32 * 1024 * 1024;
    private static final int READ_BEFORE_FIN = 64 * 1024;
    private static final byte[] EARLY_ANSWER = "0123456789".getBytes();
    private static final Pattern FINISHED_FIRST = Pattern.compile(
            "client: the server finished first: FIN after (\\d+) bytes received, (\\d+) bytes of stdin sent after it");

    /** More stdin than loopback's socket buffers hold, so some of it must leave after the server's FIN. */
    private static Path largeStdin() throws IOException {
        Path input = Files.createTempFile("grace-client-large-", ".bin");
        byte[] chunk = new byte[1024 * 1024];
        new Random(5).nextBytes(chunk);
        try (OutputStream out = Files.newOutputStream(input)) {
            for (int written = 0; written < STDIN_BYTES; written += chunk.length) {
                out.write(chunk);
            }
        }
        return input;
    }

    /** Reads a little, answers, sends FIN, then reads on and counts until the client's FIN. */
    private static long finishFirstThenReadToTheEnd(Socket peer) throws IOException {
        InputStream in = peer.getInputStream();
        long received = in.readNBytes(READ_BEFORE_FIN).length;
        peer.getOutputStream().write(EARLY_ANSWER);
        peer.shutdownOutput();
        byte[] buffer = new byte[64 * 1024];
        for (int n; (n = in.read(buffer)) != -1; ) {
            received += n;
        }
        return received;
    }

    private static Matcher finishedFirstLine(GraceProcess client) {
        assertThat(client.stderr()).hasSize(1);
        Matcher line = FINISHED_FIRST.matcher(client.stderr().get(0));
        assertThat(line.matches()).as("stderr: %s", client.stderr()).isTrue();
        return line;
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void serverFinWhileStdinStillStreamsExitsFiveAfterSendingTheRest(String transport) throws Exception {
        Path input = largeStdin();
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> {
                try (Socket peer = listener.accept()) {
                    return finishFirstThenReadToTheEnd(peer);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (GraceProcess client = GraceProcess.start(List.of(), input.toFile(), null,
                    "client", "127.0.0.1:" + listener.getLocalPort(), "--transport", transport)) {
                int exit = client.awaitExit(60);

                assertThat(exit).as("stderr: %s", client.stderr()).isEqualTo(ExitCode.SERVER_FINISHED_FIRST);
                assertThat(received.get()).as("every byte of stdin reached the server").isEqualTo(STDIN_BYTES);
                Matcher line = finishedFirstLine(client);
                assertThat(Long.parseLong(line.group(1))).isEqualTo(EARLY_ANSWER.length);
                // The client read the FIN after the server had read READ_BEFORE_FIN bytes, so at most
                // the rest left after it; more than the socket buffers hold means some did.
                assertThat(Long.parseLong(line.group(2))).isPositive().isLessThanOrEqualTo(STDIN_BYTES - READ_BEFORE_FIN);
            }
        } finally {
            Files.deleteIfExists(input);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void resetAfterTheServersEarlyFinStillExitsFive(String transport) throws Exception {
        Path input = largeStdin();
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> resetter = CompletableFuture.runAsync(() -> {
                try (Socket peer = listener.accept()) {
                    InputStream in = peer.getInputStream();
                    in.readNBytes(READ_BEFORE_FIN);
                    peer.getOutputStream().write(EARLY_ANSWER);
                    peer.shutdownOutput();
                    // Reads on for a while, so the client reads the FIN before the reset (a reset
                    // microseconds after it can reach the client first), then resets.
                    long resetAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                    byte[] buffer = new byte[64 * 1024];
                    while (System.nanoTime() < resetAtNanos && in.read(buffer) != -1) {
                        // discard
                    }
                    peer.setSoLinger(true, 0);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (GraceProcess client = GraceProcess.start(List.of(), input.toFile(), null,
                    "client", "127.0.0.1:" + listener.getLocalPort(), "--transport", transport)) {
                resetter.get();
                int exit = client.awaitExit(60);

                assertThat(exit).as("stderr: %s", client.stderr()).isEqualTo(ExitCode.SERVER_FINISHED_FIRST);
                Matcher line = finishedFirstLine(client);
                assertThat(Long.parseLong(line.group(1))).isEqualTo(EARLY_ANSWER.length);
                assertThat(Long.parseLong(line.group(2))).isLessThanOrEqualTo(STDIN_BYTES - READ_BEFORE_FIN);
            }
        } finally {
            Files.deleteIfExists(input);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "nio"})
    void serverFinAfterAllOfStdinWasSentExitsZeroThoughStdinIsStillOpen(String transport) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> {
                try (Socket peer = listener.accept()) {
                    InputStream in = peer.getInputStream();
                    long hello = in.readNBytes(5).length;
                    peer.getOutputStream().write("bye\n".getBytes());
                    peer.shutdownOutput();
                    return hello + in.readAllBytes().length;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (GraceProcess client = GraceProcess.start("client", "127.0.0.1:" + listener.getLocalPort(), "--transport", transport)) {
                client.process().getOutputStream().write("hello".getBytes());
                client.process().getOutputStream().flush();
                assertThat(client.nextStdoutLine()).isEqualTo("bye");
                // Stdin ends only now, after the FIN: nothing of it was left unsent when the FIN came.
                client.process().getOutputStream().close();
                int exit = client.awaitExit(20);

                assertThat(exit).as("stderr: %s", client.stderr()).isZero();
                assertThat(client.stderr()).isEmpty();
                assertThat(received.get()).isEqualTo(5);
            }
        }
    }
}
