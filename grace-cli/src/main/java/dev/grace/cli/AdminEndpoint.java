package dev.grace.cli;

import dev.grace.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * {@code --admin-port}: {@code GET /metrics} (Prometheus text), {@code GET /ready} (200, then 503
 * once a drain starts) and {@code GET /live} (200), on an event loop of its own. On Netty, so
 * that with {@code --handoff} its listener passes to the next process with the service's and
 * {@code /ready} answers from the new process at once.
 */
final class AdminEndpoint implements AutoCloseable {
    private static final int MAX_REQUEST_BYTES = 8192;

    private final EventLoopGroup group;
    private final Channel listener;

    private AdminEndpoint(EventLoopGroup group, Channel listener) {
        this.group = group;
        this.listener = listener;
    }

    /**
     * Binds {@code host:port}, or accepts on {@code inheritedFd} (a listener handed over, epoll
     * only) when it is 0 or more.
     */
    static AdminEndpoint start(String host, int port, Supplier<String> metrics, BooleanSupplier ready, Transport transport,
            int inheritedFd) throws IOException {
        EventLoopGroup group = transport.newEventLoopGroup(1, "grace-admin");
        ServerBootstrap bootstrap = new ServerBootstrap().group(group)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_REQUEST_BYTES),
                                new Routes(metrics, ready));
                    }
                });
        if (inheritedFd >= 0) {
            bootstrap.channelFactory(() -> new EpollServerSocketChannel(inheritedFd));
        } else {
            bootstrap.channel(transport.serverChannelClass());
        }
        ChannelFuture bound = (inheritedFd >= 0 ? bootstrap.register() : bootstrap.bind(host, port)).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            String reason = String.valueOf(bound.cause().getMessage());
            int errno = reason.lastIndexOf("): ");
            BindException failure = new BindException("cannot listen on " + host + ":" + port + ": "
                    + (errno >= 0 ? reason.substring(errno + 3) : reason));
            failure.initCause(bound.cause());
            throw failure;
        }
        return new AdminEndpoint(group, bound.channel());
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The listening channel, for handing it over with the service's. */
    ServerChannel channel() {
        return (ServerChannel) listener;
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** The three routes; every response closes nothing and says its length. */
    private static final class Routes extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Supplier<String> metrics;
        private final BooleanSupplier ready;

        Routes(Supplier<String> metrics, BooleanSupplier ready) {
            this.metrics = metrics;
            this.ready = ready;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            HttpMethod method = request.method();
            String path = new QueryStringDecoder(request.uri()).path();
            FullHttpResponse response;
            if (!request.decoderResult().isSuccess()) {
                response = respond(HttpResponseStatus.BAD_REQUEST, "text/plain; charset=utf-8", "bad request\n", false);
            } else if (!method.equals(HttpMethod.GET) && !method.equals(HttpMethod.HEAD)) {
                response = respond(HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "", false);
            } else {
                boolean head = method.equals(HttpMethod.HEAD);
                response = switch (path) {
                    case "/metrics" -> respond(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", metrics.get(), head);
                    case "/ready" -> ready.getAsBoolean()
                            ? respond(HttpResponseStatus.OK, "text/plain; charset=utf-8", "ready\n", head)
                            : respond(HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", "draining\n", head);
                    case "/live" -> respond(HttpResponseStatus.OK, "text/plain; charset=utf-8", "live\n", head);
                    default -> respond(HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8", "not found\n", head);
                };
            }
            boolean keepAlive = request.decoderResult().isSuccess() && HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            ChannelFuture written = ctx.writeAndFlush(response);
            if (!keepAlive) {
                written.addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static FullHttpResponse respond(HttpResponseStatus status, String type, String body, boolean head) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            HttpUtil.setContentLength(response, bytes.length);
            return response;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
