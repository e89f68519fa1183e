package dev.grace.cli;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import dev.grace.ConnectionState;
import dev.grace.Grace;
import dev.grace.Outcome;
import dev.grace.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code grace client HOST:PORT}: like {@code nc -N}, but honest about the ending. Streams stdin
 * to the server in constant memory (one chunk in flight), half-closes at stdin's end, copies
 * everything received to stdout, and exits 0 only if the server ended with FIN after all of
 * stdin was sent; 5 if its FIN came while stdin still had bytes to send.
 */
@Command(name = "client", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Send stdin, half-close, print everything received until the server's FIN.",
                "Exit 0 after the server's FIN, 1 if it cannot connect, 3 on reset, 4 on timeout,",
                "5 if the server finished first: its FIN came while stdin still had bytes to send",
                "(the client sends the rest, then says how much)."})
final class ClientCommand implements Callable<Integer> {
    private static final int CHUNK_BYTES = 64 * 1024;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", converter = Values.HostPort.class, paramLabel = "HOST:PORT",
            description = "Server to connect to; [IPv6]:PORT for IPv6.")
    InetSocketAddress target;

    @Option(names = "--close", defaultValue = "graceful", paramLabel = "graceful|abort",
            description = "At stdin's end: half-close (graceful), or reset the connection (abort) (default: ${DEFAULT-VALUE}).")
    ClientClose close;

    @Option(names = "--timeout", defaultValue = "30s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "Give up (exit 4) after this long with nothing sent or received (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Mixin
    TransportOption transport;

    @Mixin
    LogOption log = new LogOption(LogLevel.WARN);

    /** How the client ends its side at stdin's end. */
    enum ClientClose { GRACEFUL, ABORT }

    private volatile boolean peerFinSeen;
    private volatile boolean timedOut;
    /** Bytes received and bytes of stdin in the kernel when the server's FIN was read (event loop). */
    private long bytesInAtFin;
    private long bytesOutAtFin;
    /** Bytes read from stdin, counted before each is written (stdin thread). */
    private volatile long stdinBytesRead;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Transport chosen = transport.chosen();
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        EventLoopGroup group = chosen.newEventLoopGroup(1, "grace-client");
        try {
            CompletableFuture<Connection> connected = new CompletableFuture<>();
            ChannelFuture connect = new Bootstrap()
                    .group(group)
                    .channel(chosen.channelClass())
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            connected.complete(install(channel, stdout));
                        }
                    })
                    .connect(target)
                    .awaitUninterruptibly();
            if (!connect.isSuccess()) {
                err.println("client: cannot connect to " + Values.format(target) + ": " + Values.systemReason(connect.cause()));
                return ExitCode.IO_FAILURE;
            }
            Connection connection = connected.join();
            Thread pump = new Thread(() -> pumpStdin(System.in, connection), "grace-stdin");
            pump.setDaemon(true);
            pump.start();
            CloseReport report = connection.closeFuture().join();
            stdout.flush();
            return exitCode(report, err);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    private Connection install(Channel channel, OutputStream stdout) {
        ConnectionOptions options = ConnectionOptions.defaults().withHalfClosedTimeout(timeout).withWritesAfterPeerFin(true);
        Connection connection = Grace.install(channel, options, new ConnectionListener() {
            @Override
            public void stateChanged(Connection c, ConnectionState from, ConnectionState to) {
                if (to == ConnectionState.PEER_FIN_RECEIVED) {
                    bytesInAtFin = c.bytesIn();
                    bytesOutAtFin = c.bytesOut();
                    peerFinSeen = true;
                }
            }
        });
        channel.pipeline().addLast(new IdleStateHandler(0, 0, timeout.toMillis(), TimeUnit.MILLISECONDS));
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) throws IOException {
                ByteBuf buf = (ByteBuf) msg;
                try {
                    buf.readBytes(stdout, buf.readableBytes());
                } finally {
                    buf.release();
                }
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) throws IOException {
                stdout.flush();
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof IdleStateEvent) {
                    timedOut = true;
                    connection.abort();
                }
                ctx.fireUserEventTriggered(event);
            }
        });
        return connection;
    }

    /** Reads stdin a chunk at a time and waits for each chunk to reach the kernel: constant memory. */
    private void pumpStdin(InputStream stdin, Connection connection) {
        Channel channel = connection.channel();
        byte[] chunk = new byte[CHUNK_BYTES];
        try {
            for (int n; (n = stdin.read(chunk)) != -1; ) {
                stdinBytesRead += n;
                ByteBuf buf = channel.alloc().buffer(n).writeBytes(chunk, 0, n);
                if (!channel.writeAndFlush(buf).awaitUninterruptibly().isSuccess()) {
                    return;
                }
            }
        } catch (IOException e) {
            spec.commandLine().getErr().println("client: cannot read stdin: " + e.getMessage());
            connection.abort();
            return;
        }
        if (close == ClientClose.ABORT) {
            // All of stdin first (acknowledged, where the kernel can tell), then the reset.
            connection.abortOnceDelivered(timeout);
        } else {
            connection.shutdownOutput();
        }
    }

    /**
     * Whether some byte of stdin had not reached the kernel when the server's FIN was read: one
     * read from stdin after it, or one read before it still on its way. Stdin that merely had not
     * reported its end yet (a pipe or a terminal left open) but brought nothing more does not
     * count: the server had everything the client ever sent before it finished.
     */
    private boolean serverFinishedFirst() {
        return peerFinSeen && stdinBytesRead > bytesOutAtFin;
    }

    private int exitCode(CloseReport report, PrintWriter err) {
        if (serverFinishedFirst()) {
            err.println("client: the server finished first: FIN after " + bytesInAtFin + " bytes received, "
                    + (report.bytesOut() - bytesOutAtFin) + " bytes of stdin sent after it");
            return ExitCode.SERVER_FINISHED_FIRST;
        }
        // Once the server's FIN was read, its stream is complete whatever followed.
        if (peerFinSeen || report.outcome() == Outcome.FIN_BOTH_WAYS) {
            return ExitCode.OK;
        }
        if (timedOut) {
            err.println("client: timeout: nothing sent or received for " + Values.format(timeout));
            return ExitCode.TIMEOUT;
        }
        if (close == ClientClose.ABORT && report.outcome() == Outcome.ABORTED) {
            return ExitCode.OK;
        }
        if (report.outcome() == Outcome.PEER_RESET) {
            err.println("client: connection reset by peer after " + report.bytesIn() + " bytes");
            return ExitCode.PEER_RESET;
        }
        if (report.outcome() == Outcome.ABORTED_AT_DEADLINE) {
            err.println("client: timeout: the server sent nothing for " + Values.format(timeout) + " after our FIN");
            return ExitCode.TIMEOUT;
        }
        err.println("client: connection to " + Values.format(target) + " ended with " + report.outcome()
                + (report.cause() != null ? ": " + report.cause().getMessage() : ""));
        return ExitCode.IO_FAILURE;
    }
}
