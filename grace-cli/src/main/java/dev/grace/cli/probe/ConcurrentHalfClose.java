package dev.grace.cli.probe;

import dev.grace.cli.probe.ConcurrentGrading.Burst;
import dev.grace.cli.probe.ConcurrentGrading.Fate;
import dev.grace.cli.probe.Exchange.Seen;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The concurrent-half-close check: many connections at once each send the request, half-close
 * and read to the end. Runs on the probe's thread, the exchanges on the probe's pool.
 *
 * <p>A burst of connects can overflow a small listen backlog. Linux then drops the handshake's
 * last ACK, so the client believes it is connected, sends, half-closes, and is reset about a
 * second later by a server that never accepted it (or waits on it); or the SYN is dropped and
 * the connect times out. None of that is a closing bug, yet from the client each looks like a
 * failure before the answer. So the connections that failed before any byte of the response are
 * tried again one at a time (one connection cannot overflow a backlog), until the first that
 * fails again: whole responses then mean the backlog (WARN); the same failure alone means the
 * server mistreats half-closed clients (FAIL). This class runs the connections;
 * {@link ConcurrentGrading} grades what they saw.
 */
final class ConcurrentHalfClose {
    private record Attempt(Fate fate, String failure) {}

    private final InetSocketAddress target;
    private final byte[] request;
    private final int timeoutMillis;
    private final Budget budget;
    private final Seen baseline;

    ConcurrentHalfClose(InetSocketAddress target, byte[] request, int timeoutMillis, Budget budget, Seen baseline) {
        this.target = target;
        this.request = request;
        this.timeoutMillis = timeoutMillis;
        this.budget = budget;
        this.baseline = baseline;
    }

    /**
     * Runs {@code connections} at once, tries the ones that failed before the answer again while
     * {@code reserveMillis} of the budget stays free for the checks after this one, and grades.
     */
    Graded run(int connections, ExecutorService threads, long reserveMillis) throws Exception {
        List<CompletableFuture<Attempt>> all = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            all.add(CompletableFuture.supplyAsync(this::attempt, threads));
        }
        Map<Fate, Integer> first = new EnumMap<>(Fate.class);
        String notConnectedBecause = null;
        int beforeAnswer = 0;
        for (CompletableFuture<Attempt> one : all) {
            Attempt attempt = one.get(2L * budget.endWait(timeoutMillis) + 5_000L, TimeUnit.MILLISECONDS);
            first.merge(attempt.fate(), 1, Integer::sum);
            if (attempt.fate() == Fate.NOT_CONNECTED && notConnectedBecause == null) {
                notConnectedBecause = attempt.failure();
            }
            if (attempt.fate().beforeAnswer()) {
                beforeAnswer++;
            }
        }
        int recovered = 0;
        Fate failedAgain = null;
        int notRetried = 0;
        for (int i = 0; i < beforeAnswer; i++) {
            if (budget.leftMillis() < budget.latencyMillis() + reserveMillis) {
                notRetried = beforeAnswer - i;
                break;
            }
            Fate again = attempt().fate();
            if (again != Fate.WHOLE) {
                failedAgain = again;
                notRetried = beforeAnswer - i - 1;
                break;
            }
            recovered++;
        }
        Burst burst = new Burst(connections, first, notConnectedBecause, beforeAnswer, recovered, failedAgain, notRetried);
        return ConcurrentGrading.grade(burst, baseline);
    }

    private Attempt attempt() {
        Exchange exchange;
        try {
            exchange = Exchange.open(target, budget.bounded(timeoutMillis));
        } catch (IOException e) {
            return new Attempt(Fate.NOT_CONNECTED, e.getMessage());
        }
        try (exchange) {
            try {
                exchange.send(request);
                exchange.halfClose();
            } catch (IOException resetWhileSending) {
                return new Attempt(Fate.RESET_BEFORE_ANSWER, resetWhileSending.getMessage());
            }
            Seen seen = exchange.readToEnd(0, budget.endWait(timeoutMillis), Long.MAX_VALUE);
            return new Attempt(ConcurrentGrading.fate(seen, baseline), null);
        } catch (IOException e) {
            return new Attempt(Fate.RESET_BEFORE_ANSWER, e.getMessage());
        }
    }
}
