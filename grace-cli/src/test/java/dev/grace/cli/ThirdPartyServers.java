package dev.grace.cli;

import dev.grace.testkit.Ports;
import dev.grace.testkit.Tools;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Real servers nobody here wrote (redis, nginx, Python's http.server), started on free loopback ports with their own
 * temporary configuration in a temporary directory, and stopped by PID on {@link #close()}. Each skips the test
 * without its program, or fails it under {@code GRACE_REQUIRE_TOOLS} (see {@link Tools}).
 */
final class ThirdPartyServers implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();
    final Path dir;

    ThirdPartyServers() throws IOException {
        dir = Files.createTempDirectory("grace-third-party-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    }

    /** redis-server on a free port, nothing persisted; returns the port. */
    int redis() throws Exception {
        int port = Ports.free();
        start(List.of(Tools.require("redis-server").toString(), "--port", String.valueOf(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "no"), port, "redis");
        return port;
    }

    /** {@code python3 -m http.server} (listen backlog 5) serving {@code www}; returns the port. */
    int pythonHttpServer(Path www) throws Exception {
        int port = Ports.free();
        start(List.of(Tools.require("python3").toString(), "-m", "http.server", String.valueOf(port), "--bind", "127.0.0.1", "--directory", www.toString()),
                port, "python-http-" + port);
        return port;
    }

    /** nginx (one process, no daemon) serving {@code www} with {@code httpExtra} in its http block; returns the port. */
    int nginx(Path www, String httpExtra) throws Exception {
        Path nginx = Tools.require("nginx");
        int port = Ports.free();
        Path prefix = Files.createDirectories(dir.resolve("nginx-" + port));
        Path conf = prefix.resolve("nginx.conf");
        Files.writeString(conf, String.join("\n",
                "daemon off;",
                "master_process off;",
                "worker_processes 1;",
                "pid " + prefix.resolve("nginx.pid") + ";",
                "error_log " + prefix.resolve("error.log") + ";",
                "events { worker_connections 256; }",
                "http {",
                "  access_log off;",
                "  client_body_temp_path " + prefix.resolve("body") + ";",
                "  proxy_temp_path " + prefix.resolve("proxy") + ";",
                "  fastcgi_temp_path " + prefix.resolve("fastcgi") + ";",
                "  uwsgi_temp_path " + prefix.resolve("uwsgi") + ";",
                "  scgi_temp_path " + prefix.resolve("scgi") + ";",
                "  " + httpExtra,
                "  server { listen 127.0.0.1:" + port + "; root " + www + "; }",
                "}", ""));
        start(List.of(nginx.toString(), "-p", prefix.toString(), "-c", conf.toString()), port, "nginx-" + port);
        return port;
    }

    private void start(List<String> command, int port, String name) throws Exception {
        Path log = dir.resolve(name + ".log");
        Process process = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(log.toFile()).redirectErrorStream(true).start();
        started.add(process);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            try (Socket probe = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                if (!process.isAlive()) {
                    throw new AssertionError(command + " exited: " + Files.readString(log));
                }
                Thread.sleep(20);
            }
        }
        throw new AssertionError(command + " did not listen on " + port + " within 15 s");
    }

    @Override
    public void close() throws Exception {
        for (Process process : started) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }
}
