package dev.grace.http;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.Transport;
import dev.grace.server.DrainReport;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import dev.grace.server.ServerOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A Grace server speaking {@link HttpProtocol} to {@link TestApp}, with what its connections did. */
final class HttpTestServer implements AutoCloseable {
    final Server server;
    private final BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
    private final BlockingQueue<CloseReport> closed = new LinkedBlockingQueue<>();

    private HttpTestServer(Transport transport, Duration drainTimeout) throws IOException {
        TestApp.arrived.clear();
        server = Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1).withDrainTimeout(drainTimeout),
                new HttpProtocol(TestApp::new), new ServerListener() {
                    @Override
                    public void accepted(Connection connection) {
                        accepted.add(connection);
                    }

                    @Override
                    public void closed(Connection connection, CloseReport report) {
                        closed.add(report);
                    }
                });
    }

    static HttpTestServer start(Transport transport) throws IOException {
        return new HttpTestServer(transport, Duration.ofSeconds(10));
    }

    static HttpTestServer start(Transport transport, Duration drainTimeout) throws IOException {
        return new HttpTestServer(transport, drainTimeout);
    }

    InetSocketAddress address() {
        return server.localAddress();
    }

    Connection nextAccepted() throws InterruptedException {
        Connection connection = accepted.poll(10, TimeUnit.SECONDS);
        if (connection == null) {
            throw new AssertionError("nothing accepted within 10 s");
        }
        return connection;
    }

    CloseReport nextClosed() throws InterruptedException {
        CloseReport report = closed.poll(15, TimeUnit.SECONDS);
        if (report == null) {
            throw new AssertionError("no connection closed within 15 s");
        }
        return report;
    }

    DrainReport stopAndAwait() throws Exception {
        return server.stop().get(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        server.stop().get(30, TimeUnit.SECONDS);
    }
}
