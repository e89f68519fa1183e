package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code grace proxy} in front of servers nobody here wrote, started on loopback ports with their
 * own temporary configuration and stopped by PID; skipped when the program is not installed
 * ({@code .ci/run} installs them).
 */
class ProxyInteropIT {
    private final List<Process> started = new ArrayList<>();
    private Path dir;

    @BeforeEach
    void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("grace-interop-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    }

    @AfterEach
    void stopEverything() throws Exception {
        for (Process process : started) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    private static boolean installed(String program) {
        for (String path : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (Files.isExecutable(Path.of(path, program))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", program));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private Process startServer(List<String> command, int port) throws Exception {
        Process process = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(dir.resolve(command.get(0).replace('/', '_') + ".out").toFile())
                .redirectErrorStream(true).start();
        started.add(process);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            try (Socket probe = new Socket("127.0.0.1", port)) {
                return process;
            } catch (IOException notYet) {
                if (!process.isAlive()) {
                    throw new AssertionError(command + " exited: " + Files.readString(dir.resolve(command.get(0).replace('/', '_') + ".out")));
                }
                Thread.sleep(20);
            }
        }
        throw new AssertionError(command + " did not listen on " + port + " within 15 s");
    }

    private GraceProcess proxyTo(int port) throws Exception {
        GraceProcess grace = GraceProcess.start("proxy", "--listen=127.0.0.1:0", "--to=127.0.0.1:" + port, "--log=warn");
        return grace;
    }

    /** Runs a client program to completion and returns its stdout. */
    private static String run(List<String> command) throws Exception {
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
        assumeTrue(installed("redis-server") && installed("redis-cli") && installed("redis-benchmark"), "redis is not installed");
        int redisPort = freePort();
        startServer(List.of("redis-server", "--port", String.valueOf(redisPort), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "no"), redisPort);
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
        assumeTrue(installed("nginx") && installed("curl"), "nginx or curl is not installed");
        Path www = Files.createDirectories(dir.resolve("www"));
        byte[] file = new byte[10 * 1024 * 1024];
        new Random(10).nextBytes(file);
        Files.write(www.resolve("big.bin"), file);
        int nginxPort = freePort();
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, String.join("\n",
                "daemon off;",
                "master_process off;",
                "worker_processes 1;",
                "pid " + dir.resolve("nginx.pid") + ";",
                "error_log " + dir.resolve("error.log") + ";",
                "events { worker_connections 64; }",
                "http {",
                "  access_log off;",
                "  client_body_temp_path " + dir.resolve("body") + ";",
                "  proxy_temp_path " + dir.resolve("proxy") + ";",
                "  fastcgi_temp_path " + dir.resolve("fastcgi") + ";",
                "  uwsgi_temp_path " + dir.resolve("uwsgi") + ";",
                "  scgi_temp_path " + dir.resolve("scgi") + ";",
                "  server { listen 127.0.0.1:" + nginxPort + "; root " + www + "; }",
                "}", ""));
        startServer(List.of(installed("nginx") && Files.isExecutable(Path.of("/usr/sbin/nginx")) ? "/usr/sbin/nginx" : "nginx",
                "-p", dir.toString(), "-c", conf.toString()), nginxPort);
        try (GraceProcess grace = proxyTo(nginxPort)) {
            InetSocketAddress proxy = grace.awaitListening();
            Path fetched = dir.resolve("fetched.bin");
            run(List.of("curl", "-sS", "--fail", "-o", fetched.toString(), "http://127.0.0.1:" + proxy.getPort() + "/big.bin"));

            assertThat(Files.size(fetched)).isEqualTo(file.length);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            assertThat(sha.digest(Files.readAllBytes(fetched))).isEqualTo(MessageDigest.getInstance("SHA-256").digest(file));
            grace.signal("TERM");
            assertThat(grace.awaitExit(30)).isZero();
        }
    }

    @Test
    void socatHalfClosesAndStillGetsTheWholeEcho() throws Exception {
        assumeTrue(installed("socat"), "socat is not installed");
        Server echo = Server.start(ServerOptions.defaults().withIoThreads(1), new EchoProtocol());
        try (GraceProcess grace = proxyTo(echo.localAddress().getPort())) {
            InetSocketAddress proxy = grace.awaitListening();
            byte[] payload = new byte[2 * 1024 * 1024];
            new Random(11).nextBytes(payload);
            Path input = dir.resolve("in.bin");
            Path output = dir.resolve("out.bin");
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
