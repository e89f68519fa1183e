package dev.grace.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/2 client by prior knowledge on Netty's frame codec, logging every frame it receives;
 * it may leave PINGs unacknowledged, as some clients do after a GOAWAY (nghttp2#1103).
 */
final class H2Client implements AutoCloseable {
    final FrameLog log = new FrameLog();
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;
    private final Frames frames = new Frames();

    H2Client(InetSocketAddress address, boolean ackPings) throws InterruptedException {
        channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().autoAckPingFrame(ackPings).build(), frames);
                    }
                })
                .connect(address).sync().channel();
    }

    /** Opens a stream with {@code GET path}; returns its id. */
    int get(String path) throws Exception {
        CompletableFuture<Integer> id = new CompletableFuture<>();
        channel.eventLoop().execute(() -> {
            Http2FrameStream stream = frames.newStream();
            DefaultHttp2Headers headers = new DefaultHttp2Headers();
            headers.method("GET").path(path).scheme("http").authority("test");
            channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, true).stream(stream))
                    .addListener(f -> id.complete(stream.id()));
        });
        return id.get(10, TimeUnit.SECONDS);
    }

    void ackPing(long content) {
        channel.writeAndFlush(new DefaultHttp2PingFrame(content, true));
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private final class Frames extends Http2ChannelDuplexHandler {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2GoAwayFrame goAway) {
                    log.add("GOAWAY last=" + goAway.lastStreamId() + " error=" + goAway.errorCode());
                } else if (msg instanceof Http2PingFrame ping) {
                    log.add("PING ack=" + ping.ack() + " data=" + ping.content());
                } else if (msg instanceof Http2HeadersFrame headers) {
                    log.add("HEADERS " + headers.stream().id() + " " + headers.headers().status());
                } else if (msg instanceof Http2DataFrame data) {
                    log.add("DATA " + data.stream().id() + (data.isEndStream() ? " end" : ""));
                } else if (msg instanceof Http2ResetFrame reset) {
                    log.add("RST_STREAM " + reset.stream().id() + " error=" + reset.errorCode());
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                log.add("FIN");
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Throwable root = cause;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            log.add(String.valueOf(root.getMessage()).contains("reset") ? "RESET" : "ERROR " + root);
        }
    }
}
