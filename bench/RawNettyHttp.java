/*
 * The baseline grace server --protocol http is measured against: the same routes
 * (dev.grace.cli.http.Routes, a plain Netty handler) on the same transport and the same Netty
 * HTTP/1.1 and HTTP/2 codecs (h2c by prior knowledge and by Upgrade), with Netty's own
 * keep-alive handling and no Grace. SIGTERM stops it the way a plain Netty server usually is:
 * listener closed, then EventLoopGroup.shutdownGracefully(). Run with the shaded jar on the
 * class path:  java -cp grace-cli/target/grace.jar bench/RawNettyHttp.java PORT [epoll|nio]
 * Prints "listening on 127.0.0.1:PORT".
 */
import dev.grace.cli.http.Routes;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.AsciiString;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

public class RawNettyHttp {
    static ChannelInitializer<Http2StreamChannel> streams() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new Routes());
            }
        };
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        dev.grace.Transport transport = dev.grace.Transport.parse(args.length > 1 ? args[1] : "auto");
        EventLoopGroup boss = transport.newEventLoopGroup(1, "raw-http-listener");
        EventLoopGroup group = transport.newEventLoopGroup(Runtime.getRuntime().availableProcessors(), "raw-http");
        Channel listener = new ServerBootstrap().group(boss, group).channel(transport.serverChannelClass())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        HttpServerCodec codec = new HttpServerCodec();
                        HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(codec, protocol ->
                                AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
                                        ? new Http2ServerUpgradeCodec(Http2FrameCodecBuilder.forServer().build(), new Http2MultiplexHandler(streams()))
                                        : null, 16 * 1024);
                        ChannelHandlerAdapter priorKnowledge = new ChannelHandlerAdapter() {
                            @Override
                            public void handlerAdded(ChannelHandlerContext ctx) {
                                ctx.pipeline().addAfter(ctx.name(), "h2", Http2FrameCodecBuilder.forServer().build())
                                        .addAfter("h2", "streams", new Http2MultiplexHandler(streams()))
                                        .remove(this);
                            }
                        };
                        channel.pipeline().addLast(new CleartextHttp2ServerUpgradeHandler(codec, upgrade, priorKnowledge));
                        channel.pipeline().addLast("keep-alive", new HttpServerKeepAliveHandler());
                        channel.pipeline().addLast("routes", new Routes());
                    }
                })
                .bind("127.0.0.1", port).sync().channel();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            listener.close().awaitUninterruptibly();
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
            group.shutdownGracefully(2, 15, TimeUnit.SECONDS).awaitUninterruptibly();
        }));
        System.out.println("listening on 127.0.0.1:" + ((InetSocketAddress) listener.localAddress()).getPort());
        listener.closeFuture().sync();
        group.terminationFuture().sync();
    }
}
