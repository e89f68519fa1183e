package dev.grace.relay;

import dev.grace.Connection;
import dev.grace.ConnectionOptions;
import dev.grace.Transport;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A Grace proxy on a free loopback port in front of {@code target}, recording every session. */
final class Proxy implements AutoCloseable, RelayListener {
    final Server server;
    private final BlockingQueue<RelayReport> relayed = new LinkedBlockingQueue<>();
    private final BlockingQueue<Throwable> upstreamFailures = new LinkedBlockingQueue<>();

    Proxy(Transport transport, InetSocketAddress target, RelayOptions options) throws Exception {
        ServerOptions serverOptions = ServerOptions.defaults().withTransport(transport).withIoThreads(2)
                .withDrainTimeout(java.time.Duration.ofSeconds(5));
        server = Server.start(serverOptions, new RelayProtocol(target, options, ConnectionOptions.defaults(), this));
    }

    InetSocketAddress address() {
        return server.localAddress();
    }

    @Override
    public void relayed(RelayReport report) {
        relayed.add(report);
    }

    @Override
    public void upstreamFailed(Connection client, SocketAddress upstream, Throwable cause) {
        upstreamFailures.add(cause);
    }

    RelayReport nextRelayed() throws InterruptedException {
        RelayReport report = relayed.poll(15, TimeUnit.SECONDS);
        if (report == null) {
            throw new AssertionError("no relayed session ended within 15 s");
        }
        return report;
    }

    Throwable nextUpstreamFailure() throws InterruptedException {
        Throwable failure = upstreamFailures.poll(10, TimeUnit.SECONDS);
        if (failure == null) {
            throw new AssertionError("no upstream failure within 10 s");
        }
        return failure;
    }

    @Override
    public void close() throws Exception {
        server.stop().get(15, TimeUnit.SECONDS);
    }
}
