import dev.grace.http.HttpProtocol;
import dev.grace.server.DrainReport;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;

/** Hello over HTTP/1.1 and HTTP/2 (h2c) on one port; SIGTERM drains it without losing a request. */
public class HelloHttp {
    /** One per HTTP/1.1 connection or HTTP/2 stream; Grace hands it requests one at a time. */
    static class Hello extends SimpleChannelInboundHandler<HttpObject> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof LastHttpContent) {   // the request is complete: answer it
                var response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.copiedBuffer("hello\n", StandardCharsets.UTF_8));
                response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
                ctx.writeAndFlush(response);        // Grace adds Connection: close during a drain
            }
        }
    }

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        Server server = Server.start(ServerOptions.defaults().withBind("127.0.0.1", port), new HttpProtocol(Hello::new));
        System.out.println("listening on 127.0.0.1:" + server.localAddress().getPort());
        DrainReport report = server.stopOnSignals().awaitTermination();   // SIGTERM drains; a second one aborts
        System.out.println("drained: " + report.graceful() + " graceful, "
                + report.requests().goodbyes() + " told Connection: close");
    }
}
