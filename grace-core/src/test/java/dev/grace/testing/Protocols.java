package dev.grace.testing;

import dev.grace.Connection;
import dev.grace.ConnectionOptions;
import dev.grace.server.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Small server-side protocols for tests that drive the connection from the test thread. */
public final class Protocols {
    private Protocols() {}

    /** Reads and drops everything, says nothing; records what it received for the test. */
    public static Sink sink() {
        return new Sink();
    }

    /** Keeps the text each connection received and the moment it saw the peer's FIN. */
    public static final class Sink implements Protocol {
        private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
        private final BlockingQueue<Connection> sawPeerFin = new LinkedBlockingQueue<>();

        /** The test writes after the peer's FIN. */
        @Override
        public ConnectionOptions connectionOptions(ConnectionOptions asked) {
            return asked.withWritesAfterPeerFin(true);
        }

        @Override
        public void connectionOpened(Connection connection) {
            connection.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof ByteBuf buf) {
                        received.add(buf.toString(java.nio.charset.StandardCharsets.UTF_8));
                    }
                    ReferenceCountUtil.release(msg);
                }

                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                    if (event instanceof ChannelInputShutdownEvent) {
                        sawPeerFin.add(connection);
                    }
                    ctx.fireUserEventTriggered(event);
                }
            });
        }

        /** The next chunk of text any connection received. */
        public String nextReceived() throws InterruptedException {
            String text = received.poll(10, TimeUnit.SECONDS);
            if (text == null) {
                throw new AssertionError("nothing received within 10 s");
            }
            return text;
        }

        /** Waits until the protocol saw a peer's FIN. */
        public Connection awaitPeerFin() throws InterruptedException {
            Connection connection = sawPeerFin.poll(10, TimeUnit.SECONDS);
            if (connection == null) {
                throw new AssertionError("no peer FIN seen within 10 s");
            }
            return connection;
        }
    }
}
