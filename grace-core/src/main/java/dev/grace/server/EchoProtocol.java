package dev.grace.server;

import dev.grace.Connection;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.TimeUnit;

/**
 * Echoes every byte in order, with backpressure: the next read is requested only once the
 * previous echo reached the kernel, so a client that never reads holds at most one read buffer
 * of server memory. The peer's FIN is answered with ours once the echo is flushed.
 *
 * <p>On drain a connection is idle once everything already received has been echoed, the
 * bytes still waiting in the kernel's receive buffer included. Those are found by reading:
 * a read is always pending while no echo is in flight, so data already in the kernel is
 * delivered by the next pass of the event loop; a connection on which a settle interval passes
 * with nothing read is idle. A client that keeps streaming is cut once the server has echoed,
 * after the drain started, as much as its receive buffer could have held.
 */
public final class EchoProtocol implements Protocol {
    static final String HANDLER_NAME = "echo";
    private static final long SETTLE_MILLIS = 5;

    @Override
    public void connectionOpened(Connection connection) {
        connection.channel().config().setAutoRead(false);
        connection.channel().pipeline().addLast(HANDLER_NAME, new Echo(connection));
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
        private boolean readSinceSettle;
        private int settleGeneration;
        private boolean draining;
        private long drainBudgetBytes;

        Echo(Connection connection) {
            this.connection = connection;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            connection.markBusy();
            readSinceSettle = true;
            if (draining && msg instanceof ByteBuf buf) {
                drainBudgetBytes -= buf.readableBytes();
            }
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
            if (!draining) {
                connection.markIdle();
                ctx.read();
            } else if (drainBudgetBytes <= 0) {
                connection.markIdle();
            } else {
                ctx.read();
                settle();
            }
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
            drainBudgetBytes = receiveBufferBytes();
            connection.markBusy();
            if (!echoInFlight) {
                settle();
            }
        }

        /** The most the kernel can have been holding for us when the drain began. */
        private long receiveBufferBytes() {
            try {
                return ctx.channel().config().getOption(ChannelOption.SO_RCVBUF);
            } catch (ChannelException closedMeanwhile) {
                return 0;
            }
        }

        private void settle() {
            readSinceSettle = false;
            int generation = ++settleGeneration;
            ctx.executor().schedule(() -> {
                if (generation == settleGeneration && !readSinceSettle && !echoInFlight) {
                    connection.markIdle();
                }
            }, SETTLE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }
}
