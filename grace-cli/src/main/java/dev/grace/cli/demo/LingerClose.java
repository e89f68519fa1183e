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
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** Linger close with a peer that stopped reading: flush for up to the timeout, then RST. */
final class LingerClose {
    private static final int WRITTEN_BYTES = 32 * 1024 * 1024;

    private LingerClose() {}

    static Timeline run(Transport transport) throws Exception {
        Timeline t = new Timeline("Linger close with a peer that stopped reading",
                "lingerClose(300 ms) flushes for up to 300 ms, then sends RST: built from a timer on the event loop, because kernel "
                        + "SO_LINGER with a timeout blocks the closing thread and on Linux never sends the RST.");
        AtomicReference<Step> deadline = new AtomicReference<>();
        Loopback.SilentServer silent = Loopback.silentServer(transport, t,
                report -> deadline.set(t.act(Side.SERVER, "the deadline passed: RST (" + report.outcome() + ")", Arrow.RST, 0)));
        Server server = silent.server();
        try (Socket client = Loopback.connect(server.localAddress())) {
            Connection connection = silent.accepted().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            Step data = t.act(Side.SERVER, String.format("writes %,d B; the client stopped reading", WRITTEN_BYTES), Arrow.DATA, WRITTEN_BYTES);
            connection.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[WRITTEN_BYTES]));
            t.act(Side.SERVER, "lingerClose(300 ms)");
            connection.lingerClose(Duration.ofMillis(300)).get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            Loopback.ReadToEnd end = Loopback.readToEnd(client);
            t.observed(data, Observations.read(end.bytes()));
            t.observed(deadline.get(), Observations.ending(end));
        }
        server.stop().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        return t;
    }
}
