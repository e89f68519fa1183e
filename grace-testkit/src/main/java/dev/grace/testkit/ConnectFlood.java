package dev.grace.testkit;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Clients that loop connect / 64 B / half-close / read to the end against an echo, each on a
 * thread of its own, until a connect is refused or five seconds pass; what they saw is counted
 * from the client's side only. A connect that succeeded and then met a reset, or a FIN before
 * the echo, is a failure of whoever was stopping.
 */
public final class ConnectFlood {
    private static final byte[] REQUEST = new byte[64];

    static {
        Arrays.fill(REQUEST, (byte) 'x');
    }

    public final AtomicInteger served = new AtomicInteger();
    public final AtomicInteger refused = new AtomicInteger();
    public final AtomicInteger resetAfterConnect = new AtomicInteger();
    public final AtomicInteger finWithEchoOwed = new AtomicInteger();
    /** What each failed client saw, for the assertion's message. */
    public final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final List<CompletableFuture<Void>> clients = new ArrayList<>();

    private ConnectFlood() {}

    /** Starts {@code clients} looping clients against {@code target}. */
    public static ConnectFlood start(InetSocketAddress target, int clients) {
        ConnectFlood flood = new ConnectFlood();
        for (int i = 0; i < clients; i++) {
            flood.clients.add(CompletableFuture.runAsync(() -> flood.loop(target), runnable -> new Thread(runnable, "flood").start()));
        }
        return flood;
    }

    /** Waits (bounded) until {@code sessions} were served, so the stop comes in the middle of the flood. */
    public void awaitServed(int sessions) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (served.get() < sessions && failures.isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    /** Waits until every client stopped. */
    public void awaitEnd() throws Exception {
        for (CompletableFuture<Void> client : clients) {
            client.get(15, TimeUnit.SECONDS);
        }
    }

    private void loop(InetSocketAddress target) {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); System.nanoTime() < deadline; ) {
            Peer peer;
            try {
                peer = Peer.connect(target);
            } catch (ConnectException e) {
                refused.incrementAndGet();
                return;
            } catch (IOException e) {
                // Reset during the handshake: the connect failed, so nobody was told it succeeded.
                refused.incrementAndGet();
                return;
            }
            try (peer) {
                peer.send(REQUEST);
                peer.halfClose();
                Peer.ReadResult seen = peer.readToEnd();
                if (seen.end() == Peer.ReadResult.End.FIN && seen.bytes().length == REQUEST.length) {
                    served.incrementAndGet();
                } else if (seen.end() == Peer.ReadResult.End.FIN) {
                    finWithEchoOwed.incrementAndGet();
                    failures.add(seen.toString());
                } else {
                    resetAfterConnect.incrementAndGet();
                    failures.add(seen.toString());
                }
            } catch (IOException e) {
                resetAfterConnect.incrementAndGet();
                failures.add(e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "served=" + served + " refused=" + refused + " resetAfterConnect=" + resetAfterConnect
                + " finWithEchoOwed=" + finWithEchoOwed + " " + failures;
    }
}
