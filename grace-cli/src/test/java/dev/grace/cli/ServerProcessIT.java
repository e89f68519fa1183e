package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.grace.testkit.Tools;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code grace server} as a real process: its output contract, its signals, its admin endpoint. */
class ServerProcessIT {
    private static final Pattern OUTCOME_LINE = Pattern.compile(
            "closed peer=127\\.0\\.0\\.1:\\d+ outcome=[A-Z_]+ first=(peer|local) in=\\d+ out=\\d+ discarded=\\d+ ms=\\d+");

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, 5_000);
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** Sends {@code text} and reads its echo. */
    private static Socket idleClient(InetSocketAddress address, String text) throws IOException {
        Socket socket = connect(address);
        socket.getOutputStream().write(text.getBytes());
        assertThat(new String(socket.getInputStream().readNBytes(text.length()))).isEqualTo(text);
        return socket;
    }

    @Test
    void sigtermDrainsIdleAndBusyConnectionsRefusesNewOnesAndExitsZero() throws Exception {
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--drain-timeout", "20s")) {
            InetSocketAddress address = grace.awaitListening();
            Socket idle = idleClient(address, "idle");
            Socket busy = connect(address);
            byte[] upload = new byte[8 * 1024 * 1024];
            new Random(1).nextBytes(upload);
            busy.getOutputStream().write(upload, 0, 1024 * 1024);
            byte[] head = busy.getInputStream().readNBytes(64 * 1024);

            grace.signal("TERM");
            assertThat(idle.getInputStream().read()).as("idle: FIN at once").isEqualTo(-1);
            assertThatThrownBy(() -> connect(address).close()).as("listener closed").isInstanceOf(ConnectException.class);
            byte[] rest = busy.getInputStream().readAllBytes();
            idle.close();
            busy.close();
            int exit = grace.awaitExit(20);

            assertThat(exit).isZero();
            assertThat(head.length + rest.length).as("the busy client's echo finished").isGreaterThanOrEqualTo(1024 * 1024);
            assertThat(grace.awaitStderr("drained:")).matches(
                    "drained: graceful=2 aborted_at_deadline=0 reset_by_peer=0 aborted=0 error=0 discarded=\\d+ ms=\\d+");
            assertThat(grace.stderr().stream().filter(line -> line.startsWith("closed "))).hasSize(2)
                    .allMatch(line -> OUTCOME_LINE.matcher(line).matches());
        }
    }

    @Test
    void drainDeadlineAbortsAPeerThatNeverSendsFin() throws Exception {
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--drain-timeout", "500ms")) {
            InetSocketAddress address = grace.awaitListening();
            try (Socket silent = idleClient(address, "hello")) {
                grace.signal("TERM");
                assertThat(silent.getInputStream().read()).isEqualTo(-1);
                int exit = grace.awaitExit(20);

                assertThat(exit).isZero();
                assertThat(grace.awaitStderr("drained:")).startsWith("drained: graceful=0 aborted_at_deadline=1 ");
                assertThat(grace.awaitStderr("closed ")).contains("outcome=ABORTED_AT_DEADLINE first=local");
                assertThatThrownBy(() -> silent.getOutputStream().write(1)).isInstanceOf(IOException.class);
            }
        }
    }

    @Test
    void secondSigtermAbortsWhatIsLeftQuickly() throws Exception {
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--drain-timeout", "2m")) {
            InetSocketAddress address = grace.awaitListening();
            try (Socket silent = idleClient(address, "hello")) {
                grace.signal("TERM");
                assertThat(silent.getInputStream().read()).as("the drain started").isEqualTo(-1);
                long startNanos = System.nanoTime();
                grace.signal("INT");
                int exit = grace.awaitExit(20);

                assertThat(exit).isZero();
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos)).isLessThan(5_000);
                assertThat(grace.awaitStderr("drained:")).startsWith("drained: graceful=0 aborted_at_deadline=0 reset_by_peer=0 aborted=1 ");
            }
        }
    }

    @Test
    void readyFlipsTo503WhenTheDrainStartsAndMetricsCountEveryConnection() throws Exception {
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--admin-port", "0", "--drain-timeout", "20s")) {
            InetSocketAddress admin = grace.awaitAddressLine("admin on ");
            InetSocketAddress address = grace.awaitListening();
            assertThat(Http.get(admin, "/ready").status()).isEqualTo(200);
            assertThat(Http.get(admin, "/live").status()).isEqualTo(200);

            for (int i = 0; i < 5; i++) {
                try (Socket client = idleClient(address, "abc")) {
                    client.shutdownOutput();
                    assertThat(client.getInputStream().read()).isEqualTo(-1);
                }
            }
            Socket resetter = idleClient(address, "xyz");
            resetter.setSoLinger(true, 0);
            resetter.close();
            Socket holdsTheDrainOpen = idleClient(address, "hold");
            for (int i = 0; i < 6; i++) {
                grace.awaitStderr("closed ");
            }
            awaitMetric(admin, "grace_connections_closed_total{outcome=\"PEER_RESET\"}", 1);
            // Connections end on different event loops: the reset's report may land before the last FIN's.
            String metrics = awaitMetric(admin, "grace_connections_closed_total{outcome=\"FIN_BOTH_WAYS\"}", 5);

            assertThat(Http.metric(metrics, "grace_connections_accepted_total")).isEqualTo(7);
            assertThat(Http.metric(metrics, "grace_connections_open")).isEqualTo(1);
            assertThat(Http.metric(metrics, "grace_connections_closed_total{outcome=\"FIN_BOTH_WAYS\"}")).isEqualTo(5);
            assertThat(Http.metric(metrics, "grace_bytes_received_total")).isEqualTo(5 * 3 + 3);
            assertThat(Http.metric(metrics, "grace_bytes_sent_total")).isEqualTo(5 * 3 + 3);
            assertThat(Http.metric(metrics, "grace_draining")).isZero();

            grace.signal("TERM");
            assertThat(holdsTheDrainOpen.getInputStream().read()).isEqualTo(-1);
            assertThat(Http.get(admin, "/ready").status()).isEqualTo(503);
            assertThat(Http.metric(Http.get(admin, "/metrics").body(), "grace_draining")).isEqualTo(1);
            assertThat(Http.get(admin, "/live").status()).isEqualTo(200);
            holdsTheDrainOpen.close();
            assertThat(grace.awaitExit(20)).isZero();
        }
    }

    private static String awaitMetric(InetSocketAddress admin, String sample, double value) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String body = Http.get(admin, "/metrics").body();
        while (!body.contains(sample + " " + value) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            body = Http.get(admin, "/metrics").body();
        }
        return body;
    }

    @Test
    void descriptorsReturnToBaselineAfterTwoThousandMixedConnections() throws Exception {
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0", "--log", "warn")) {
            InetSocketAddress address = grace.awaitListening();
            try (Socket warmUp = idleClient(address, "warm")) {
                warmUp.shutdownOutput();
                assertThat(warmUp.getInputStream().read()).isEqualTo(-1);
            }
            long baseline = awaitDescriptors(grace, Long.MAX_VALUE);
            List<CompletableFuture<Void>> workers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int worker = w;
                workers.add(CompletableFuture.runAsync(() -> {
                    try {
                        for (int i = 0; i < 500; i++) {
                            try (Socket client = idleClient(address, "n" + i)) {
                                if ((i + worker) % 2 == 0) {
                                    client.shutdownOutput();
                                    assertThat(client.getInputStream().read()).isEqualTo(-1);
                                } else {
                                    client.setSoLinger(true, 0);
                                }
                            }
                        }
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }, java.util.concurrent.Executors.newSingleThreadExecutor()));
            }
            CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);

            assertThat(awaitDescriptors(grace, baseline)).isLessThanOrEqualTo(baseline);
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
            assertThat(grace.awaitStderr("drained:")).startsWith("drained: graceful=0 ");
        }
    }

    /** Polls the count until it is at most {@code target} (or 10 s pass) and returns it. */
    private static long awaitDescriptors(GraceProcess grace, long target) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long count = grace.openDescriptors();
        while (count > target && System.nanoTime() < deadline) {
            Thread.sleep(20);
            count = grace.openDescriptors();
        }
        return count;
    }

    @Test
    void netcatGetsTheExactEcho() throws Exception {
        Path netcat = Tools.require("nc");
        Path input = Files.createTempFile("grace-nc-", ".bin");
        byte[] bytes = new byte[2 * 1024 * 1024];
        new Random(2).nextBytes(bytes);
        Files.write(input, bytes);
        try (GraceProcess grace = GraceProcess.start("server", "--port", "0")) {
            InetSocketAddress address = grace.awaitListening();
            Process nc = new ProcessBuilder(netcat.toString(), "-N", "127.0.0.1", String.valueOf(address.getPort()))
                    .redirectInput(input.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> {
                try (InputStream in = nc.getInputStream()) {
                    return in.readAllBytes();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(nc.waitFor(30, TimeUnit.SECONDS)).isTrue();

            assertThat(nc.exitValue()).isZero();
            assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo(bytes);
            assertThat(grace.awaitStderr("closed ")).contains("outcome=FIN_BOTH_WAYS first=peer in=" + bytes.length + " out=" + bytes.length);
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
        } finally {
            Files.deleteIfExists(input);
        }
    }

    @Test
    void launcherExecsJavaSoSignalsToItsPidReachGrace() throws Exception {
        Path launcher = Path.of(System.getProperty("grace.launcher", "../bin/grace"));
        assumeTrue(Files.isExecutable(launcher), "no launcher at " + launcher);
        try (GraceProcess grace = GraceProcess.exec(List.of(launcher.toString(), "server", "--port", "0"))) {
            InetSocketAddress address = grace.awaitListening();
            try (Socket client = idleClient(address, "via the launcher")) {
                grace.signal("TERM");
                assertThat(client.getInputStream().read()).isEqualTo(-1);
            }
            assertThat(grace.awaitExit(20)).isZero();
            assertThat(grace.awaitStderr("drained:")).startsWith("drained: graceful=1 ");
        }
    }

}
