package dev.grace.cli.demo;

import static dev.grace.cli.demo.Loopback.TIMEOUT_MILLIS;

import dev.grace.cli.demo.Timeline.Arrow;
import dev.grace.cli.demo.Timeline.Side;
import dev.grace.cli.demo.Timeline.Step;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** A plain server (no Grace): answer early, then close() with the rest of the upload unread. */
final class CloseWithUnreadInput {
    private static final int UPLOAD_BYTES = 8 * 1024 * 1024;

    private CloseWithUnreadInput() {}

    static Timeline run() throws Exception {
        Timeline t = new Timeline("Close with unread input",
                "A close() with unread input makes Linux send RST at once: the client's upload fails and the answer it was owed "
                        + "is lost to it. Grace turns the same close() into FIN plus a lingering read, and the client gets its answer.");
        try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicReference<Step> upload = new AtomicReference<>();
            CompletableFuture<Step[]> served = CompletableFuture.supplyAsync(() -> {
                try (Socket socket = listener.accept()) {
                    int read = socket.getInputStream().read(new byte[1024]);
                    t.observed(upload.get(), "read the first " + read + " B, then stopped reading");
                    byte[] answer = "413 request too large\n".getBytes(StandardCharsets.UTF_8);
                    Step answered = t.act(Side.SERVER, "answers early", Arrow.DATA, answer.length);
                    socket.getOutputStream().write(answer);
                    Step reset = t.act(Side.SERVER, "close() with unread input: the kernel sends RST", Arrow.RST, 0);
                    return new Step[] {answered, reset};
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Socket client = Loopback.connect((InetSocketAddress) listener.getLocalSocketAddress())) {
                upload.set(t.act(Side.CLIENT, String.format("uploads %,d B before reading the answer", UPLOAD_BYTES), Arrow.DATA, UPLOAD_BYTES));
                IOException failure = null;
                try {
                    client.getOutputStream().write(new byte[UPLOAD_BYTES]);
                } catch (IOException e) {
                    failure = e;
                }
                Step[] steps = served.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
                t.observed(steps[1], Observations.upload(failure));
                t.observed(steps[0], "never read: the connection was already reset when the upload failed");
                t.act(Side.CLIENT, "close()");
            }
        }
        return t;
    }
}
