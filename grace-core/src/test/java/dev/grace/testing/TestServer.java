package dev.grace.testing;

import dev.grace.Transport;
import dev.grace.server.DrainReport;
import dev.grace.server.Protocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A Grace server on a free loopback port with a {@link Recorder}; closing it forces a stop. */
public final class TestServer implements AutoCloseable {
    public final Server server;
    public final Recorder recorder;

    private TestServer(Server server, Recorder recorder) {
        this.server = server;
        this.recorder = recorder;
    }

    public static TestServer start(Transport transport, Protocol protocol) throws IOException {
        return start(ServerOptions.defaults().withTransport(transport), protocol, new Recorder());
    }

    public static TestServer start(ServerOptions options, Protocol protocol, Recorder recorder) throws IOException {
        return new TestServer(Server.start(options.withBind("127.0.0.1", 0).withIoThreads(2), protocol, recorder), recorder);
    }

    public InetSocketAddress address() {
        return server.localAddress();
    }

    public int port() {
        return server.localAddress().getPort();
    }

    /** Drains; if that takes over five seconds, forces it. */
    @Override
    public void close() throws Exception {
        try {
            server.stop().get(5, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            DrainReport forced = server.stop().get(10, TimeUnit.SECONDS);
            throw new AssertionError("server did not drain within 5 s; forced: " + forced);
        }
    }
}
