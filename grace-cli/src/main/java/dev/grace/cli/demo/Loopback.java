package dev.grace.cli.demo;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.Transport;
import dev.grace.server.Protocol;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import dev.grace.server.ServerOptions;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The sockets the scenarios share: a Grace server on a free loopback port, a plain client socket
 * with every wait bounded, and reading a client socket to its end. Runs on the scenario's thread.
 */
final class Loopback {
    static final int TIMEOUT_MILLIS = 10_000;

    private Loopback() {}

    /** What a read to the end saw: the bytes, and the failure that ended it (null: EOF). */
    record ReadToEnd(long bytes, IOException failure) {}

    /** A server that says nothing: the scenario drives the connection it accepts. */
    record SilentServer(Server server, CompletableFuture<Connection> accepted) {}

    static Server server(Transport transport, Protocol protocol, ServerListener listener) throws IOException {
        return Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1)
                .withDrainTimeout(Duration.ofSeconds(5)), protocol, listener);
    }

    static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, TIMEOUT_MILLIS);
        socket.setSoTimeout(TIMEOUT_MILLIS);
        return socket;
    }

    /**
     * A silent server whose every connection's end is recorded as a server step;
     * {@code beforeClose} records what led to a close, just before the close itself.
     */
    static SilentServer silentServer(Transport transport, Timeline t, Consumer<CloseReport> beforeClose) throws IOException {
        CompletableFuture<Connection> accepted = new CompletableFuture<>();
        Server server = server(transport, connection -> { }, new ServerListener() {
            @Override
            public void accepted(Connection connection) {
                accepted.complete(connection);
            }

            @Override
            public void closed(Connection connection, CloseReport report) {
                beforeClose.accept(report);
                t.act(Timeline.Side.SERVER, Observations.closed(report));
            }
        });
        return new SilentServer(server, accepted);
    }

    /** Reads until EOF or a failure, counting the bytes. */
    static ReadToEnd readToEnd(Socket client) {
        long read = 0;
        try {
            InputStream in = client.getInputStream();
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = in.read(buffer)) != -1; ) {
                read += n;
            }
            return new ReadToEnd(read, null);
        } catch (IOException e) {
            return new ReadToEnd(read, e);
        }
    }
}
