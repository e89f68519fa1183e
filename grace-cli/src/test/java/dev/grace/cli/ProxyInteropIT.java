package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import dev.grace.testkit.Tools;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code grace proxy} in front of servers nobody here wrote, started on loopback ports with their
 * own temporary configuration and stopped by PID; skipped when the program is not installed,
 * failed under {@code GRACE_REQUIRE_TOOLS} ({@code .ci/run} sets it and installs them).
 */
class ProxyInteropIT {
    private ThirdPartyServers servers;

    @BeforeEach
    void makeDirectory() throws IOException {
        servers = new ThirdPartyServers();
    }

    @AfterEach
    void stopEverything() throws Exception {
        servers.close();
    }

    private GraceProcess proxyTo(int port) throws Exception {
        return GraceProcess.start("proxy", "--listen=127.0.0.1:0", "--to=127.0.0.1:" + port, "--log=warn");
    }

    /** Runs a client program to completion and returns its stdout. */
    static String run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        byte[] output;
        try (InputStream in = process.getInputStream()) {
            output = in.readAllBytes();
        }
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String text = new String(output, StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as("%s: %s", command, text).isZero();
        return text;
    }

    @Test
    void redisThroughTheProxy() throws Exception {
        Tools.requireAll("redis-server", "redis-cli", "redis-benchmark");
        int redisPort = servers.redis();
        try (GraceProcess grace = proxyTo(redisPort)) {
            InetSocketAddress proxy = grace.awaitListening();
            String port = String.valueOf(proxy.getPort());

            assertThat(run(List.of("redis-cli", "-h", "127.0.0.1", "-p", port, "SET", "grace", "ends well")).strip()).isEqualTo("OK");
            assertThat(run(List.of("redis-cli", "-h", "127.0.0.1", "-p", port, "GET", "grace")).strip()).isEqualTo("ends well");
            String benchmark = run(List.of("redis-benchmark", "-h", "127.0.0.1", "-p", port, "-q", "-n", "2000", "-t", "set,get"));
            assertThat(benchmark).contains("SET:").contains("GET:").contains("requests per second");

            grace.signal("TERM");
            assertThat(grace.awaitExit(30)).isZero();
            assertThat(grace.stderr()).noneMatch(line -> line.startsWith("upstream failed"));
        }
    }

    @Test
    void nginxServesTenMebibytesByteExactThroughTheProxy() throws Exception {
        Tools.requireAll("nginx", "curl");
        Path www = Files.createDirectories(servers.dir.resolve("www"));
        byte[] file = new byte[10 * 1024 * 1024];
        new Random(10).nextBytes(file);
        Files.write(www.resolve("big.bin"), file);
        int nginxPort = servers.nginx(www, "");
        try (GraceProcess grace = proxyTo(nginxPort)) {
            InetSocketAddress proxy = grace.awaitListening();
            Path fetched = servers.dir.resolve("fetched.bin");
            run(List.of("curl", "-sS", "--fail", "-o", fetched.toString(), "http://127.0.0.1:" + proxy.getPort() + "/big.bin"));

            assertThat(Files.size(fetched)).isEqualTo(file.length);
            assertThat(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(fetched)))
                    .isEqualTo(MessageDigest.getInstance("SHA-256").digest(file));
            grace.signal("TERM");
            assertThat(grace.awaitExit(30)).isZero();
        }
    }

    @Test
    void socatHalfClosesAndStillGetsTheWholeEcho() throws Exception {
        Tools.require("socat");
        Server echo = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol());
        try (GraceProcess grace = proxyTo(echo.localAddress().getPort())) {
            InetSocketAddress proxy = grace.awaitListening();
            byte[] payload = new byte[2 * 1024 * 1024];
            new Random(11).nextBytes(payload);
            Path input = servers.dir.resolve("in.bin");
            Path output = servers.dir.resolve("out.bin");
            Files.write(input, payload);
            // socat shuts down its write side when stdin ends, then waits (-t) for the other direction.
            Process socat = new ProcessBuilder("socat", "-t", "10", "-", "TCP:127.0.0.1:" + proxy.getPort())
                    .redirectInput(input.toFile()).redirectOutput(output.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            assertThat(socat.waitFor(30, TimeUnit.SECONDS)).isTrue();

            assertThat(socat.exitValue()).isZero();
            assertThat(Files.readAllBytes(output)).isEqualTo(payload);
            grace.signal("TERM");
            assertThat(grace.awaitExit(30)).isZero();
        } finally {
            echo.close();
        }
    }
}
