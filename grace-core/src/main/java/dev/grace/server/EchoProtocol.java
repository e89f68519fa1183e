package dev.grace.server;

import dev.grace.Connection;
import dev.grace.ConnectionOptions;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Echoes every byte in order, with backpressure: the next read is requested only once the
 * previous echo reached the kernel, so a client that never reads holds at most one read buffer
 * of server memory. The peer's FIN is answered with ours once the echo is flushed.
 *
 * <p>Echo has no goodbye of its own, so on drain a connection is idle only when the echo knows
 * nothing is owed: everything received has been echoed and flushed, and no byte has arrived
 * for {@link #QUIET_MILLIS} (counted from the last byte, or from the accept, so a connection
 * already quiet when the drain begins is idle at once). A client that keeps sending stays busy:
 * it is served until it half-closes, or until the drain's deadline resets it. Grace itself then
 * makes sure nothing waits unread in the kernel before it sends the FIN.
 */
public final class EchoProtocol implements Protocol {
    static final String HANDLER_NAME = "echo";
    /** The quiet that makes a draining echo connection idle. */
    public static final long QUIET_MILLIS = 50;
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(QUIET_MILLIS);

    @Override
    public void connectionOpened(Connection connection) {
        connection.channel().config().setAutoRead(false);
        connection.channel().pipeline().addLast(HANDLER_NAME, new Echo(connection));
    }

    /** After the client's FIN the echo still owes what it has not echoed yet. */
    @Override
    public ConnectionOptions connectionOptions(ConnectionOptions asked) {
        return asked.withWritesAfterPeerFin(true);
    }

    @Override
    public void drainStarted(Connection connection) {
        if (connection.channel().pipeline().get(HANDLER_NAME) instanceof Echo echo) {
            echo.drainStarted();
        }
    }

    /** One connection's echo loop; runs on its event loop. */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        private final Connection connection;
        private ChannelHandlerContext ctx;
        private ChannelFuture lastWrite;
        private boolean echoInFlight;
        private boolean draining;
        private long lastInputNanos;
        private ScheduledFuture<?> quietCheck;

        Echo(Connection connection) {
            this.connection = connection;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            lastInputNanos = ctx.executor().ticker().nanoTime();
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            connection.markBusy();
            lastInputNanos = ctx.executor().ticker().nanoTime();
            lastWrite = ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ChannelFuture write = lastWrite;
            lastWrite = null;
            if (write == null) {
                ctx.read();
                return;
            }
            echoInFlight = true;
            ctx.flush();
            write.addListener((ChannelFuture f) -> {
                echoInFlight = false;
                if (f.isSuccess()) {
                    echoed();
                }
                // A failed echo is Grace's to report: it aborts the connection.
            });
        }

        private void echoed() {
            ctx.read();
            if (draining) {
                checkQuiet();
            } else {
                connection.markIdle();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (quietCheck != null) {
                quietCheck.cancel(false);
                quietCheck = null;
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                // Grace sends our FIN only after the echo in flight reached the kernel.
                connection.shutdownOutput();
            }
            ctx.fireUserEventTriggered(event);
        }

        void drainStarted() {
            if (draining) {
                return;
            }
            draining = true;
            connection.markBusy();
            checkQuiet();
        }

        /** Idle once nothing is owed and the client has been quiet long enough; else look again when it might be. */
        private void checkQuiet() {
            if (echoInFlight || quietCheck != null) {
                // The echo's completion, or the check already scheduled, looks again.
                return;
            }
            long quietNanos = ctx.executor().ticker().nanoTime() - lastInputNanos;
            if (quietNanos >= QUIET_NANOS) {
                connection.markIdle();
                return;
            }
            quietCheck = ctx.executor().schedule(() -> {
                quietCheck = null;
                checkQuiet();
            }, QUIET_NANOS - quietNanos, TimeUnit.NANOSECONDS);
        }
    }
}
