package dev.grace.http;

import dev.grace.Connection;
import dev.grace.server.Protocol;
import dev.grace.server.RequestCounts;
import dev.grace.server.Server;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.AsciiString;
import io.netty.util.AttributeKey;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * HTTP on a Grace {@link Server}: HTTP/1.1, and HTTP/2 cleartext by prior knowledge or by
 * {@code Upgrade: h2c}, on one port, with goodbyes that lose no request on drain (see
 * {@link Http1Drain}, {@link Http2Drain}, {@link WebSockets}).
 *
 * <p>The application is a Netty handler, one per HTTP/1.1 connection and one per HTTP/2 stream,
 * made by {@code application}: it reads {@code HttpRequest} and {@code HttpContent} messages and
 * writes a response the same way on both protocols. A request's body over HTTP/2 comes in as
 * {@code HttpContent} too; HTTP/1.1 requests reach it one at a time, in order.
 *
 * <pre>{@code
 * Server server = Server.start(ServerOptions.defaults().withBind("127.0.0.1", 8080),
 *         new HttpProtocol(HelloHandler::new));
 * server.stopOnSignals().awaitTermination();
 * }</pre>
 */
public final class HttpProtocol implements Protocol {
    /** Nothing received for this long makes a draining keep-alive connection with no request idle. */
    public static final long QUIET_MILLIS = 50;
    /** A request line or header block over this gets 431. */
    public static final int MAX_HEAD_BYTES = 16 * 1024;

    static final String APPLICATION = "grace-http-application";
    static final String FAILURE = "grace-http-failure";
    private static final String CODEC = "grace-http-codec";
    private static final String H2_FRAMES = "grace-h2-frames";
    private static final String H2_STREAMS = "grace-h2-streams";
    static final List<String> HTTP1_HANDLERS = List.of(InputWatch.NAME, Http1Drain.NAME, APPLICATION, FAILURE);
    private static final AttributeKey<ConnectionRequests> REQUESTS = AttributeKey.valueOf(HttpProtocol.class, "requests");
    private static final AttributeKey<HttpTally> TALLY = AttributeKey.valueOf(HttpProtocol.class, "tally");
    private static final int MAX_CONCURRENT_STREAMS = 256;

    private final Supplier<? extends ChannelHandler> application;
    private final HttpTally tally = new HttpTally();

    public HttpProtocol(Supplier<? extends ChannelHandler> application) {
        this.application = Objects.requireNonNull(application, "application");
    }

    /** Requests this connection received so far (HTTP/2: streams the client opened). */
    public static int requests(Connection connection) {
        ConnectionRequests requests = connection.channel().attr(REQUESTS).get();
        return requests == null ? 0 : requests.count;
    }

    /** Per connection, written on its event loop. */
    static final class ConnectionRequests {
        int count;
        boolean http2;
    }

    static HttpTally tallyOf(Channel channel) {
        return channel.attr(TALLY).get();
    }

    @Override
    public void connectionOpened(Connection connection) {
        Channel channel = connection.channel();
        ConnectionRequests requests = new ConnectionRequests();
        channel.attr(REQUESTS).set(requests);
        channel.attr(TALLY).set(tally);
        connection.closeFuture().thenAccept(report -> {
            // HTTP/2 clients answer a GOAWAY with frames of their own; only HTTP/1.1 input after our FIN is a request.
            if (report.discardedInbound() > 0 && report.firstCloser() == dev.grace.Side.LOCAL && !requests.http2) {
                tally.discardedAfterGoodbye();
            }
        });

        HttpServerCodec codec = new HttpServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_HEAD_BYTES)
                .setMaxHeaderSize(MAX_HEAD_BYTES));
        InputWatch input = new InputWatch();
        Http1Drain http1 = new Http1Drain(connection, tally, input, requests);
        HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(codec, protocol -> {
            // During a drain the request is answered over HTTP/1.1, with Connection: close.
            if (!AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol) || http1.draining()) {
                return null;
            }
            Http2FrameCodec frames = newFrameCodec();
            StreamFrameFence fence = new StreamFrameFence();
            return new Http2ServerUpgradeCodec(frames, fence, new Http2MultiplexHandler(streams()),
                    new Http2Drain(connection, frames, fence, tally, requests));
        }, MAX_HEAD_BYTES);

        ChannelPipeline pipeline = channel.pipeline();
        pipeline.addLast(InputWatch.NAME, input);
        pipeline.addLast(CODEC, new CleartextHttp2ServerUpgradeHandler(codec, upgrade, new PriorKnowledge(connection, requests)));
        pipeline.addLast(Http1Drain.NAME, http1);
        pipeline.addLast(APPLICATION, application.get());
        pipeline.addLast(FAILURE, ApplicationFailure.INSTANCE);
    }

    @Override
    public void drainStarted(Connection connection, Duration timeLeft) {
        ChannelPipeline pipeline = connection.channel().pipeline();
        // By type: after an h2c upgrade the HTTP/2 handlers carry names Netty chose.
        Http2Drain http2 = pipeline.get(Http2Drain.class);
        if (pipeline.get(Http1Drain.NAME) instanceof Http1Drain http1) {
            http1.goodbye(timeLeft);
        } else if (http2 != null) {
            http2.goodbye(timeLeft);
        } else if (pipeline.get(WebSocketDrain.NAME) instanceof WebSocketDrain webSocket) {
            webSocket.goodbye();
        }
        // Anything else is idle as it stands: Grace closes it.
    }

    @Override
    public RequestCounts requestCounts() {
        return tally.snapshot();
    }

    private Http2FrameCodec newFrameCodec() {
        return Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
                        .maxHeaderListSize(MAX_HEAD_BYTES))
                .build();
    }

    /** Each HTTP/2 stream: frames to HTTP objects, counted, then the application. */
    private ChannelInitializer<Http2StreamChannel> streams() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new StreamTally(tally), application.get(),
                        ApplicationFailure.INSTANCE);
            }
        };
    }

    /** Put in place by the codec when the connection opens with the HTTP/2 preface. */
    private final class PriorKnowledge extends ChannelHandlerAdapter {
        private final Connection connection;
        private final ConnectionRequests requests;

        PriorKnowledge(Connection connection, ConnectionRequests requests) {
            this.connection = connection;
            this.requests = requests;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            Http2FrameCodec frames = newFrameCodec();
            StreamFrameFence fence = new StreamFrameFence();
            // In this order: each checks, when added, that what it needs is already before it.
            ctx.pipeline()
                    .addAfter(ctx.name(), H2_FRAMES, frames)
                    .addAfter(H2_FRAMES, StreamFrameFence.NAME, fence)
                    .addAfter(StreamFrameFence.NAME, H2_STREAMS, new Http2MultiplexHandler(streams()))
                    .addAfter(H2_STREAMS, Http2Drain.NAME, new Http2Drain(connection, frames, fence, tally, requests))
                    .remove(this);
        }
    }
}
