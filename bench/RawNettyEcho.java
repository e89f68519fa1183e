/*
 * The baseline grace server is measured against: the same echo on the same Netty transport
 * with the same settings (TCP_NODELAY, auto-read off, read again only once the echo was
 * written, answer the client's FIN with ours), and no Grace. Run with the shaded jar on the
 * class path:  java -cp grace-cli/target/grace.jar bench/RawNettyEcho.java PORT [epoll|nio]
 * Prints "listening on 127.0.0.1:PORT"; SIGTERM ends it.
 */
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.net.InetSocketAddress;

public class RawNettyEcho {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        dev.grace.Transport transport = dev.grace.Transport.parse(args.length > 1 ? args[1] : "auto");
        EventLoopGroup group = transport.newEventLoopGroup(Runtime.getRuntime().availableProcessors(), "raw-echo");
        Channel listener = new ServerBootstrap().group(group).channel(transport.serverChannelClass())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(new Echo());
                    }
                })
                .bind("127.0.0.1", port).sync().channel();
        System.out.println("listening on 127.0.0.1:" + ((InetSocketAddress) listener.localAddress()).getPort());
        listener.closeFuture().sync();
    }

    static final class Echo extends ChannelInboundHandlerAdapter {
        private ChannelFuture lastWrite;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
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
            ctx.flush();
            write.addListener(f -> {
                if (f.isSuccess()) {
                    ctx.read();
                } else {
                    ctx.close();
                }
            });
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                // The client's FIN: ours once the echo is out, then close (both directions done).
                ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(f ->
                        ((DuplexChannel) ctx.channel()).shutdownOutput().addListener(g -> ctx.close()));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
