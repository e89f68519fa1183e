package dev.grace.cli.demo;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionState;
import dev.grace.Transport;
import dev.grace.cli.demo.Timeline.Arrow;
import dev.grace.cli.demo.Timeline.Side;
import dev.grace.cli.demo.Timeline.Step;
import dev.grace.server.DrainReport;
import dev.grace.server.EchoProtocol;
import dev.grace.server.Protocol;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import dev.grace.server.ServerOptions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The five scenarios. Each starts its own server on a free loopback port, drives a plain-socket
 * client, and records into its {@link Timeline} only what the two sides actually did and saw.
 */
public final class Scenarios {
    private static final int TIMEOUT_MILLIS = 10_000;

    private Scenarios() {}

    public static List<Timeline> runAll(Transport transport) throws Exception {
        return List.of(gracefulSequence(transport), closeWithUnreadInput(), abort(transport), lingerClose(transport), drain(transport));
    }

    private static Server server(Transport transport, Protocol protocol, ServerListener listener) throws IOException {
        return Server.start(ServerOptions.defaults().withTransport(transport).withIoThreads(1)
                .withDrainTimeout(Duration.ofSeconds(5)), protocol, listener);
    }

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, TIMEOUT_MILLIS);
        socket.setSoTimeout(TIMEOUT_MILLIS);
        return socket;
    }

    /** Records a connection's end as a server step. */
    private static void recordClose(Timeline timeline, CloseReport report) {
        timeline.act(Side.SERVER, "closed: " + report.outcome() + ", TIME_WAIT: " + report.timeWaitHolder().name().toLowerCase()
                + (report.discardedUnsent() > 0 ? String.format(", %,d B discarded unsent", report.discardedUnsent()) : ""));
    }

    /** A server that says nothing: the scenario drives the connection it accepts. */
    private record SilentServer(Server server, CompletableFuture<Connection> accepted) {}

    /** {@code beforeClose} records what led to a close, just before the close itself is recorded. */
    private static SilentServer silentServer(Transport transport, Timeline t, Consumer<CloseReport> beforeClose) throws IOException {
        CompletableFuture<Connection> accepted = new CompletableFuture<>();
        Server server = server(transport, connection -> { }, new ServerListener() {
            @Override
            public void accepted(Connection connection) {
                accepted.complete(connection);
            }

            @Override
            public void closed(Connection connection, CloseReport report) {
                beforeClose.accept(report);
                recordClose(t, report);
            }
        });
        return new SilentServer(server, accepted);
    }

    static Timeline gracefulSequence(Transport transport) throws Exception {
        Timeline t = new Timeline("Client-initiated graceful shutdown",
                "Each side says it has finished sending with shutdown(SEND); the server still answers after the client's FIN, "
                        + "and the connection ends with FIN both ways: nothing lost, no RST, TIME_WAIT on the side that sent the first FIN.");
        AtomicReference<Step> request = new AtomicReference<>();
        AtomicReference<Step> clientFin = new AtomicReference<>();
        AtomicReference<Step> answer = new AtomicReference<>();
        AtomicReference<Step> serverFin = new AtomicReference<>();
        Protocol answerAfterEof = connection -> connection.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
            long received;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                received += ((ByteBuf) msg).readableBytes();
                ((ByteBuf) msg).release();
                t.observed(request.get(), "read " + received + " B");
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof ChannelInputShutdownEvent) {
                    t.observed(clientFin.get(), "read() returned EOF");
                    byte[] body = ("you sent " + received + " bytes\n").getBytes(StandardCharsets.UTF_8);
                    answer.set(t.act(Side.SERVER, "sends the rest of its answer", Arrow.DATA, body.length));
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(body));
                    serverFin.set(t.act(Side.SERVER, "shutdown(SEND): Grace sends FIN after the answer", Arrow.FIN, 0));
                    connection.shutdownOutput();
                }
                ctx.fireUserEventTriggered(event);
            }
        });
        CompletableFuture<CloseReport> closed = new CompletableFuture<>();
        Server server = server(transport, answerAfterEof, new ServerListener() {
            @Override
            public void closed(Connection connection, CloseReport report) {
                recordClose(t, report);
                closed.complete(report);
            }
        });
        try (Socket client = connect(server.localAddress())) {
            byte[] hello = "hello, here is my whole request\n".getBytes(StandardCharsets.UTF_8);
            request.set(t.act(Side.CLIENT, "sends its request", Arrow.DATA, hello.length));
            client.getOutputStream().write(hello);
            clientFin.set(t.act(Side.CLIENT, "shutdown(SEND)", Arrow.FIN, 0));
            client.shutdownOutput();
            byte[] response = client.getInputStream().readAllBytes();
            t.observed(answer.get(), "read " + response.length + " B");
            t.observed(serverFin.get(), "read() returned EOF");
            t.act(Side.CLIENT, "close()");
        }
        closed.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        server.stop().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        return t;
    }

    /** A plain server (no Grace): answer early, then close() with the rest of the upload unread. */
    static Timeline closeWithUnreadInput() throws Exception {
        Timeline t = new Timeline("Close with unread input",
                "A close() with unread input makes Linux send RST at once: the client's upload fails and the answer it was owed "
                        + "is lost to it. Grace turns the same close() into FIN plus a lingering read, and the client gets its answer.");
        int uploadBytes = 8 * 1024 * 1024;
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicReference<Step> upload = new AtomicReference<>();
            CompletableFuture<Step[]> served = CompletableFuture.supplyAsync(() -> {
                try (Socket socket = listener.accept()) {
                    int read = socket.getInputStream().read(new byte[1024]);
                    t.observed(upload.get(), "read the first " + read + " B, then stopped reading");
                    byte[] answer = "413 request too large\n".getBytes(StandardCharsets.UTF_8);
                    Step answered = t.act(Side.SERVER, "answers early", Arrow.DATA, answer.length);
                    socket.getOutputStream().write(answer);
                    Step reset = t.act(Side.SERVER, "close() with unread input: the kernel sends RST", Arrow.RST, 0);
                    return new Step[] {answered, reset};
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Socket client = connect((InetSocketAddress) listener.getLocalSocketAddress())) {
                upload.set(t.act(Side.CLIENT, String.format("uploads %,d B before reading the answer", uploadBytes), Arrow.DATA, uploadBytes));
                String uploadResult;
                try {
                    client.getOutputStream().write(new byte[uploadBytes]);
                    uploadResult = "upload completed";
                } catch (IOException e) {
                    uploadResult = "upload failed: " + e.getMessage();
                }
                Step[] steps = served.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
                t.observed(steps[1], uploadResult);
                t.observed(steps[0], "never read: the connection was already reset when the upload failed");
                t.act(Side.CLIENT, "close()");
            }
        }
        return t;
    }

    static Timeline abort(Transport transport) throws Exception {
        Timeline t = new Timeline("Abort with SO_LINGER 0",
                "abort() sets SO_LINGER 0 and closes: RST at once, whatever was not yet sent is discarded, and neither side "
                        + "keeps TIME_WAIT. The peer's read fails with \"Connection reset\" once it has read what had arrived.");
        SilentServer silent = silentServer(transport, t, report -> { });
        Server server = silent.server();
        try (Socket client = connect(server.localAddress())) {
            Connection connection = silent.accepted().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            int bytes = 16 * 1024 * 1024;
            Step data = t.act(Side.SERVER, String.format("writes %,d B; the client is not reading yet", bytes), Arrow.DATA, bytes);
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[bytes]));
            Step reset = t.act(Side.SERVER, "abort(): SO_LINGER 0, close()", Arrow.RST, 0);
            connection.abort().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            readToEnd(t, client, data, reset);
        }
        server.stop().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        return t;
    }

    static Timeline lingerClose(Transport transport) throws Exception {
        Timeline t = new Timeline("Linger close with a peer that stopped reading",
                "lingerClose(300 ms) flushes for up to 300 ms, then sends RST: built from a timer on the event loop, because kernel "
                        + "SO_LINGER with a timeout blocks the closing thread and on Linux never sends the RST.");
        AtomicReference<Step> deadline = new AtomicReference<>();
        SilentServer silent = silentServer(transport, t,
                report -> deadline.set(t.act(Side.SERVER, "the deadline passed: RST (" + report.outcome() + ")", Arrow.RST, 0)));
        Server server = silent.server();
        try (Socket client = connect(server.localAddress())) {
            Connection connection = silent.accepted().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            int bytes = 32 * 1024 * 1024;
            Step data = t.act(Side.SERVER, String.format("writes %,d B; the client stopped reading", bytes), Arrow.DATA, bytes);
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[bytes]));
            t.act(Side.SERVER, "lingerClose(300 ms)");
            connection.lingerClose(Duration.ofMillis(300)).get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            readToEnd(t, client, data, deadline.get());
        }
        server.stop().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        return t;
    }

    /** Reads what arrived, then how it ended, and records both as the client's observations. */
    private static void readToEnd(Timeline t, Socket client, Step data, Step end) {
        long read = 0;
        String how;
        try {
            InputStream in = client.getInputStream();
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = in.read(buffer)) != -1; ) {
                read += n;
            }
            how = "read() returned EOF";
        } catch (IOException e) {
            how = "read failed: " + e.getMessage();
        }
        t.observed(data, String.format("read %,d B", read));
        t.observed(end, how);
    }

    static Timeline drain(Transport transport) throws Exception {
        Timeline t = new Timeline("Server drain with an idle and a busy connection",
                "stop() closes the listener, gives the idle connection (quiet for 50 ms) its FIN at once, serves the busy one "
                        + "until it half-closes and every byte is echoed, then sends FIN; whatever is still open at the deadline "
                        + "would be reset, never cut with a FIN.");
        AtomicReference<Step> idleFin = new AtomicReference<>();
        AtomicReference<Step> busyFin = new AtomicReference<>();
        AtomicReference<Integer> idlePort = new AtomicReference<>();
        Server server = server(transport, new EchoProtocol(), new ServerListener() {
            @Override
            public void stateChanged(Connection connection, ConnectionState from, ConnectionState to) {
                if (to == ConnectionState.LINGERING || (to == ConnectionState.CLOSED && from == ConnectionState.PEER_FIN_RECEIVED)) {
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
                t.act(Side.SERVER, String.format("drained: %d graceful, %d aborted at the deadline in %d ms",
                        report.graceful(), report.count(dev.grace.Outcome.ABORTED_AT_DEADLINE), report.duration().toMillis()));
            }
        });
        try (Socket idle = connect(server.localAddress()); Socket busy = connect(server.localAddress())) {
            idlePort.set(idle.getLocalPort());
            Step hello = t.act(Side.CLIENT, "idle client: sends 6 B, reads the echo, then waits", Arrow.DATA, 6);
            idle.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            idle.getInputStream().readNBytes(6);
            t.observed(hello, "echoed 6 B");
            // The idle client's quiet must outlast the echo's idle rule when the stop comes, or it is not idle yet.
            Thread.sleep(EchoProtocol.QUIET_MILLIS);
            int streamed = 4 * 1024 * 1024;
            Step stream = t.act(Side.CLIENT, String.format("busy client: streams %,d B", streamed), Arrow.DATA, streamed);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    busy.getOutputStream().write(new byte[streamed]);
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
                t.observed(idleFin.get(), idleEnd == -1 ? "idle client: read() returned EOF" : "idle client: read a byte?");
            }
            if (busyFin.get() != null) {
                t.observed(busyFin.get(), String.format("busy client: read the rest of the echo (%,d B in all), then EOF", head.length + rest));
            }
        }
        return t;
    }
}
