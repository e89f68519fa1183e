package dev.grace.cli.demo;

import static dev.grace.cli.demo.Loopback.TIMEOUT_MILLIS;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.Transport;
import dev.grace.cli.demo.Timeline.Arrow;
import dev.grace.cli.demo.Timeline.Side;
import dev.grace.cli.demo.Timeline.Step;
import dev.grace.server.Protocol;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** The client-initiated graceful shutdown sequence: the server answers after the client's FIN, then sends its own. */
final class GracefulSequence {
    private GracefulSequence() {}

    static Timeline run(Transport transport) throws Exception {
        Timeline t = new Timeline("Client-initiated graceful shutdown",
                "Each side says it has finished sending with shutdown(SEND); the server still answers after the client's FIN, "
                        + "and the connection ends with FIN both ways: nothing lost, no RST, TIME_WAIT on the side that sent the first FIN.");
        AtomicReference<Step> request = new AtomicReference<>();
        AtomicReference<Step> clientFin = new AtomicReference<>();
        AtomicReference<Step> answer = new AtomicReference<>();
        AtomicReference<Step> serverFin = new AtomicReference<>();
        Protocol answerAfterEof = connection -> connection.channel().pipeline().addLast(new ChannelInboundHandlerAdapter() {
            long received;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                received += ((ByteBuf) msg).readableBytes();
                ((ByteBuf) msg).release();
                t.observed(request.get(), "read " + received + " B");
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof ChannelInputShutdownEvent) {
                    t.observed(clientFin.get(), "read() returned EOF");
                    byte[] body = ("you sent " + received + " bytes\n").getBytes(StandardCharsets.UTF_8);
                    answer.set(t.act(Side.SERVER, "sends the rest of its answer", Arrow.DATA, body.length));
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(body));
                    serverFin.set(t.act(Side.SERVER, "shutdown(SEND): Grace sends FIN after the answer", Arrow.FIN, 0));
                    connection.shutdownOutput();
                }
                ctx.fireUserEventTriggered(event);
            }
        });
        CompletableFuture<CloseReport> closed = new CompletableFuture<>();
        Server server = Loopback.server(transport, answerAfterEof, new ServerListener() {
            @Override
            public void closed(Connection connection, CloseReport report) {
                t.act(Side.SERVER, Observations.closed(report));
                closed.complete(report);
            }
        });
        try (Socket client = Loopback.connect(server.localAddress())) {
            byte[] hello = "hello, here is my whole request\n".getBytes(StandardCharsets.UTF_8);
            request.set(t.act(Side.CLIENT, "sends its request", Arrow.DATA, hello.length));
            client.getOutputStream().write(hello);
            clientFin.set(t.act(Side.CLIENT, "shutdown(SEND)", Arrow.FIN, 0));
            client.shutdownOutput();
            byte[] response = client.getInputStream().readAllBytes();
            t.observed(answer.get(), "read " + response.length + " B");
            t.observed(serverFin.get(), "read() returned EOF");
            t.act(Side.CLIENT, "close()");
        }
        closed.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        server.stop().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        return t;
    }
}
