package dev.grace.cli.demo;

import static dev.grace.cli.demo.Loopback.TIMEOUT_MILLIS;

import dev.grace.Connection;
import dev.grace.Transport;
import dev.grace.cli.demo.Timeline.Arrow;
import dev.grace.cli.demo.Timeline.Side;
import dev.grace.cli.demo.Timeline.Step;
import dev.grace.server.Server;
import io.netty.buffer.Unpooled;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/** Abort with SO_LINGER 0 while the client is not reading: RST at once, the unsent rest discarded. */
final class Abort {
    private static final int WRITTEN_BYTES = 16 * 1024 * 1024;

    private Abort() {}

    static Timeline run(Transport transport) throws Exception {
        Timeline t = new Timeline("Abort with SO_LINGER 0",
                "abort() sets SO_LINGER 0 and closes: RST at once, whatever was not yet sent is discarded, and neither side "
                        + "keeps TIME_WAIT. The peer's read fails with \"Connection reset\" once it has read what had arrived.");
        Loopback.SilentServer silent = Loopback.silentServer(transport, t, report -> { });
        Server server = silent.server();
        try (Socket client = Loopback.connect(server.localAddress())) {
            Connection connection = silent.accepted().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            Step data = t.act(Side.SERVER, String.format("writes %,d B; the client is not reading yet", WRITTEN_BYTES), Arrow.DATA, WRITTEN_BYTES);
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[WRITTEN_BYTES]));
            Step reset = t.act(Side.SERVER, "abort(): SO_LINGER 0, close()", Arrow.RST, 0);
            connection.abort().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            Loopback.ReadToEnd end = Loopback.readToEnd(client);
            t.observed(data, Observations.read(end.bytes()));
            t.observed(reset, Observations.ending(end));
        }
        server.stop().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        return t;
    }
}
