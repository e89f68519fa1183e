package dev.grace.cli.demo;

import static dev.grace.cli.demo.Loopback.TIMEOUT_MILLIS;

import dev.grace.Connection;
import dev.grace.ConnectionState;
import dev.grace.Transport;
import dev.grace.cli.demo.Timeline.Arrow;
import dev.grace.cli.demo.Timeline.Side;
import dev.grace.cli.demo.Timeline.Step;
import dev.grace.server.DrainReport;
import dev.grace.server.EchoProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** A drain of Grace's echo server with one idle and one busy (streaming) connection. */
final class ServerDrain {
    private static final int STREAMED_BYTES = 4 * 1024 * 1024;

    private ServerDrain() {}

    static Timeline run(Transport transport) throws Exception {
        Timeline t = new Timeline("Server drain with an idle and a busy connection",
                "stop() closes the listener, gives the idle connection (quiet for 50 ms) its FIN at once, serves the busy one "
                        + "until it half-closes and every byte is echoed, then sends FIN; whatever is still open at the deadline "
                        + "would be reset, never cut with a FIN.");
        AtomicReference<Step> idleFin = new AtomicReference<>();
        AtomicReference<Step> busyFin = new AtomicReference<>();
        AtomicReference<Integer> idlePort = new AtomicReference<>();
        Server server = Loopback.server(transport, new EchoProtocol(), new ServerListener() {
            @Override
            public void stateChanged(Connection connection, ConnectionState from, ConnectionState to) {
                if (Observations.serverSentFin(from, to)) {
                    boolean idle = ((InetSocketAddress) connection.channel().remoteAddress()).getPort() == idlePort.get();
                    Step fin = t.act(Side.SERVER, (idle ? "idle" : "busy") + " connection: FIN", Arrow.FIN, 0);
                    (idle ? idleFin : busyFin).compareAndSet(null, fin);
                }
            }

            @Override
            public void listenerClosed() {
                t.act(Side.SERVER, "listener closed: new connects are refused");
            }

            @Override
            public void drained(DrainReport report) {
                t.act(Side.SERVER, Observations.drained(report));
            }
        });
        try (Socket idle = Loopback.connect(server.localAddress()); Socket busy = Loopback.connect(server.localAddress())) {
            idlePort.set(idle.getLocalPort());
            Step hello = t.act(Side.CLIENT, "idle client: sends 6 B, reads the echo, then waits", Arrow.DATA, 6);
            idle.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            idle.getInputStream().readNBytes(6);
            t.observed(hello, "echoed 6 B");
            // The idle client's quiet must outlast the echo's idle rule when the stop comes, or it is not idle yet.
            Thread.sleep(EchoProtocol.QUIET_MILLIS);
            Step stream = t.act(Side.CLIENT, String.format("busy client: streams %,d B", STREAMED_BYTES), Arrow.DATA, STREAMED_BYTES);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    busy.getOutputStream().write(new byte[STREAMED_BYTES]);
                    busy.shutdownOutput();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            byte[] head = busy.getInputStream().readNBytes(256 * 1024);
            t.observed(stream, String.format("echo under way (%,d B back so far)", head.length));
            t.act(Side.SERVER, "stop(): readiness off, drain begins");
            CompletableFuture<DrainReport> drained = server.stop();
            int idleEnd = idle.getInputStream().read();
            long rest = busy.getInputStream().readAllBytes().length;
            writer.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            idle.close();
            busy.close();
            // Every connection's steps are recorded once the drain is done.
            drained.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            if (idleFin.get() != null) {
                t.observed(idleFin.get(), Observations.idleClientRead(idleEnd));
            }
            if (busyFin.get() != null) {
                t.observed(busyFin.get(), Observations.busyClientRead(head.length + rest));
            }
        }
        return t;
    }
}
