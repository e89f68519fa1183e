package dev.grace.cli.probe;

import dev.grace.cli.probe.Check.Verdict;
import dev.grace.cli.probe.Exchange.End;
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
 * server mistreats half-closed clients (FAIL).
 */
final class ConcurrentHalfClose {
    /** How one connection went. */
    enum Fate {
        WHOLE("got the whole response then FIN"),
        TRUNCATED("ended with FIN before the whole response (truncated)"),
        RESET_MIDWAY("reset during the response"),
        OPEN("left open after our half-close"),
        RESET_BEFORE_ANSWER("reset before any byte of the response"),
        WAITED("waited without a byte of the response until we gave up"),
        NOT_CONNECTED("could not connect");

        final String words;

        Fate(String words) {
            this.words = words;
        }

        boolean beforeAnswer() {
            return this == RESET_BEFORE_ANSWER || this == WAITED || this == NOT_CONNECTED;
        }

        boolean closingBug() {
            return this != WHOLE && this != NOT_CONNECTED;
        }
    }

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
    Probe.Graded run(int connections, ExecutorService threads, long reserveMillis) throws Exception {
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
        return grade(connections, first, notConnectedBecause, beforeAnswer, recovered, failedAgain, notRetried);
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
            return new Attempt(fate(exchange.readToEnd(0, budget.endWait(timeoutMillis), Long.MAX_VALUE)), null);
        } catch (IOException e) {
            return new Attempt(Fate.RESET_BEFORE_ANSWER, e.getMessage());
        }
    }

    private Fate fate(Seen seen) {
        return switch (seen.end()) {
            case FIN -> seen.bytes() >= baseline.bytes() ? Fate.WHOLE : Fate.TRUNCATED;
            case RST, FIN_THEN_RST -> seen.bytes() > 0 ? Fate.RESET_MIDWAY : Fate.RESET_BEFORE_ANSWER;
            // Waiting in silence is only news when the server ends its baseline exchange.
            case OPEN -> seen.bytes() == 0 && baseline.end() != End.OPEN ? Fate.WAITED : Fate.OPEN;
        };
    }

    private Probe.Graded grade(int connections, Map<Fate, Integer> first, String notConnectedBecause, int beforeAnswer,
            int recovered, Fate failedAgain, int notRetried) {
        String whole = baseline.bytes() > 0 ? Fate.WHOLE.words : "ended with FIN";
        StringBuilder evidence = new StringBuilder()
                .append(first.getOrDefault(Fate.WHOLE, 0)).append('/').append(connections).append(' ').append(whole);
        boolean closingBug = false;
        for (Fate fate : Fate.values()) {
            int count = first.getOrDefault(fate, 0);
            if (fate != Fate.WHOLE && count > 0) {
                evidence.append(", ").append(count).append(' ').append(fate.words)
                        .append(fate == Fate.NOT_CONNECTED ? " (" + notConnectedBecause + ")" : "");
                // Left open by a server that never answers nor closes even normally: as in the baseline.
                boolean likeBaseline = fate == Fate.OPEN && baseline.bytes() == 0;
                closingBug |= fate.closingBug() && !fate.beforeAnswer() && !likeBaseline;
            }
        }
        if (beforeAnswer > 0) {
            evidence.append("; tried again one at a time, ").append(recovered).append(' ').append(whole);
            if (failedAgain != null) {
                evidence.append(", then one ").append(failedAgain.words).append(" again, alone");
                closingBug |= failedAgain.closingBug();
            }
            if (notRetried > 0) {
                evidence.append(", ").append(notRetried).append(failedAgain != null ? " not tried again" : " not tried again (out of time)");
            }
            if (recovered > 0 && failedAgain == null) {
                evidence.append(": the listen backlog overflowed at the burst of connects (the server's kernel dropped"
                        + " those handshakes), not a closing bug, though a busy server's clients see it too");
            }
        }
        Verdict verdict;
        if (closingBug) {
            verdict = Verdict.FAIL;
        } else if (beforeAnswer == connections && recovered == 0) {
            verdict = Verdict.INFO;
            evidence.insert(0, "not exercised: ");
        } else if (beforeAnswer > 0) {
            verdict = Verdict.WARN;
        } else if (baseline.bytes() == 0) {
            verdict = Verdict.INFO;
            evidence.insert(0, "not exercised, the server answers nothing even normally: ");
        } else {
            verdict = Verdict.PASS;
        }
        return new Probe.Graded(verdict, evidence.toString());
    }
}
