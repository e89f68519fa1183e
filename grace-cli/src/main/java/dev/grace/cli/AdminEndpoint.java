package dev.grace.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * {@code --admin-port}: {@code GET /metrics} (Prometheus text), {@code GET /ready} (200, then 503
 * once a drain starts) and {@code GET /live} (200), on the JDK's built-in HTTP server and one
 * thread of its own.
 */
final class AdminEndpoint implements AutoCloseable {
    private final HttpServer http;
    private final ExecutorService executor;

    private AdminEndpoint(HttpServer http, ExecutorService executor) {
        this.http = http;
        this.executor = executor;
    }

    static AdminEndpoint start(String host, int port, Supplier<String> metrics, BooleanSupplier ready) throws IOException {
        HttpServer http;
        try {
            http = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException e) {
            BindException failure = new BindException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
            failure.initCause(e);
            throw failure;
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "grace-admin");
            thread.setDaemon(true);
            return thread;
        });
        http.setExecutor(executor);
        http.createContext("/metrics", exchange -> respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.get()));
        http.createContext("/ready", exchange -> {
            boolean isReady = ready.getAsBoolean();
            respond(exchange, isReady ? 200 : 503, "text/plain; charset=utf-8", isReady ? "ready\n" : "draining\n");
        });
        http.createContext("/live", exchange -> respond(exchange, 200, "text/plain; charset=utf-8", "live\n"));
        http.start();
        return new AdminEndpoint(http, executor);
    }

    InetSocketAddress address() {
        return http.getAddress();
    }

    private static void respond(HttpExchange exchange, int status, String type, String body) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", type);
            boolean head = exchange.getRequestMethod().equals("HEAD");
            exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream body2 = exchange.getResponseBody()) {
                    body2.write(bytes);
                }
            }
        }
    }

    @Override
    public void close() {
        http.stop(0);
        executor.shutdownNow();
    }
}
