package dev.grace.cli.probe;

import dev.grace.cli.probe.Check.Verdict;
import dev.grace.cli.probe.Exchange.End;
import dev.grace.cli.probe.Exchange.Seen;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Runs the checks against one server, in an order that keeps the whole run within about
 * {@code idleWait} + 15 s: the idle connection is opened first and collected last. Every
 * verdict is graded against the baseline exchange and what reached the wire.
 */
public final class Probe {
    static final int UNREAD_BYTES = 64 * 1024;
    static final int CONCURRENT = 100;
    static final int PIPELINED_BYTES = 1024 * 1024;
    private static final long QUIET_MILLIS = 300;
    private static final long RECOVERY_PAUSE_MILLIS = 200;
    private static final String LOOPBACK_NOTE =
            " (on loopback the kernel keeps data readable after an RST, so the damage looks smaller than over a real link)";

    private final InetSocketAddress target;
    private final byte[] request;
    private final byte[] closeRequest;
    private final int timeoutMillis;
    private final long idleWaitMillis;
    /**
     * Every check but the idle one shares idle-wait plus this much time: the idle connection is
     * read meanwhile, so a run ends within about idle-wait + 15 s.
     */
    static final long CHECKS_BUDGET_MILLIS = 14_000;
    private Budget budget;

    public Probe(InetSocketAddress target, byte[] request, byte[] closeRequest, Duration timeout, Duration idleWait) {
        this.target = target;
        this.request = request;
        this.closeRequest = closeRequest;
        this.timeoutMillis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        this.idleWaitMillis = idleWait.toMillis();
    }

    /** Runs every check; throws only if the very first connect fails. */
    public List<Check> run() throws IOException, InterruptedException {
        ExecutorService threads = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "grace-probe");
            thread.setDaemon(true);
            return thread;
        });
        budget = new Budget(idleWaitMillis + CHECKS_BUDGET_MILLIS);
        try {
            Exchange idleConnection = Exchange.open(target, timeoutMillis);
            long idleStart = System.nanoTime();
            Future<Seen> idle = threads.submit(() -> {
                try (idleConnection) {
                    return idleConnection.readToEnd(0, idleWaitMillis, Long.MAX_VALUE);
                }
            });
            List<Check> checks = new ArrayList<>();
            Seen baseline = baselineCheck(checks);
            budget.baselineSeen(baseline);
            grade(checks, "half-close", 1, () -> halfClose(baseline));
            grade(checks, "unread-input", 1, () -> unreadInput(baseline));
            grade(checks, "reset-recovery", 1, () -> resetRecovery(baseline));
            // Against a server that answers nothing there is no response to abort: graded without an exchange.
            int abortExchanges = baseline.bytes() == 0 ? 0 : 2;
            grade(checks, "concurrent-half-close", 1,
                    () -> new ConcurrentHalfClose(target, request, timeoutMillis, budget, baseline)
                            .run(CONCURRENT, threads, abortExchanges * budget.latencyMillis()));
            grade(checks, "abort-during-response", abortExchanges, () -> abortDuringResponse(baseline, threads));
            checks.add(idle(idle, idleStart));
            return checks;
        } finally {
            threads.shutdownNow();
        }
    }

    record Graded(Verdict verdict, String evidence) {}

    private interface Body {
        Graded run() throws Exception;
    }

    /**
     * Runs one check, unless what is left of the budget cannot give {@code exchanges} exchanges
     * the time the baseline took: a check cut short would grade the server on our impatience.
     */
    private void grade(List<Check> checks, String name, int exchanges, Body body) {
        long start = System.nanoTime();
        Graded graded;
        long needed = exchanges * budget.latencyMillis();
        if (budget.leftMillis() < needed) {
            graded = new Graded(Verdict.INFO, "not run: " + budget.leftMillis() + " ms were left of the probe's time budget, and "
                    + (exchanges == 1 ? "its exchange needs" : "its " + exchanges + " exchanges need") + " " + needed
                    + " ms (the baseline's time, and a margin)");
        } else {
            try {
                graded = body.run();
            } catch (Exception e) {
                graded = new Graded(Verdict.FAIL, "the check could not complete: " + e);
            }
        }
        checks.add(new Check(name, graded.verdict(), graded.evidence(), (System.nanoTime() - start) / 1_000_000));
    }

    /** The baseline as a clause, for evidence that compares against it. */
    private static String baselineWas(Seen baseline) {
        return "the baseline got " + baseline.describe() + " after " + baseline.ms() + " ms";
    }

    /** INFO, never PASS: an error answer or an empty one shows here, and every other check compares against it. */
    private Seen baselineCheck(List<Check> checks) {
        long start = System.nanoTime();
        Seen seen;
        String evidence;
        try {
            seen = baseline();
            evidence = "the request sent normally: " + seen.describe();
        } catch (IOException e) {
            seen = new Seen(0, "", End.RST, 0);
            evidence = "the request sent normally failed: " + e.getMessage();
        }
        checks.add(new Check("baseline", Verdict.INFO, evidence, (System.nanoTime() - start) / 1_000_000));
        return seen;
    }

    private Seen baseline() throws IOException {
        try (Exchange exchange = Exchange.open(target, budget.bounded(timeoutMillis))) {
            exchange.send(request);
            return exchange.readToEnd(QUIET_MILLIS, budget.endWait(timeoutMillis), Long.MAX_VALUE);
        }
    }

    private Graded halfClose(Seen baseline) throws IOException {
        try (Exchange exchange = Exchange.open(target, timeoutMillis)) {
            exchange.send(request);
            exchange.halfClose();
            Seen seen = exchange.readToEnd(0, budget.endWait(timeoutMillis), Long.MAX_VALUE);
            String what = "after our half-close: " + seen.describe();
            return switch (seen.end()) {
                case RST, FIN_THEN_RST -> new Graded(Verdict.FAIL, what);
                case OPEN -> new Graded(Verdict.WARN, what + " for " + seen.ms() + " ms: a half-closed client waits on it");
                case FIN -> seen.bytes() == 0 && baseline.bytes() == 0
                        ? new Graded(Verdict.INFO, "not exercised, the server answers nothing even normally: " + what
                                + "; " + baselineWas(baseline))
                        : seen.bytes() == 0
                        ? new Graded(Verdict.WARN, what + ": the server answers nothing once it sees our FIN")
                        : seen.bytes() < baseline.bytes()
                        ? new Graded(Verdict.FAIL, what + ": truncated, the baseline was " + baseline.bytes() + " bytes")
                        : new Graded(Verdict.PASS, what + ": the whole response");
            };
        }
    }

    private Graded unreadInput(Seen baseline) throws IOException {
        try (Exchange exchange = Exchange.open(target, timeoutMillis)) {
            // One write, so the server has all of it at hand when it decides how to close.
            ByteArrayOutputStream pipelined = new ByteArrayOutputStream();
            pipelined.writeBytes(request);
            if (closeRequest != null) {
                pipelined.writeBytes(closeRequest);
            }
            pipelined.writeBytes(repeated(request, UNREAD_BYTES));
            try {
                exchange.send(pipelined.toByteArray());
            } catch (IOException resetWhileSending) {
                return new Graded(Verdict.FAIL, "reset while we were still sending the request and " + UNREAD_BYTES
                        + " more bytes (" + resetWhileSending.getMessage() + "): a client that sends before it reads never gets the answer");
            }
            Seen seen = exchange.readToEnd(0, budget.endWait(Math.min(timeoutMillis, 3_000)), Long.MAX_VALUE);
            String sent = UNREAD_BYTES + " more bytes it never read";
            return switch (seen.end()) {
                case FIN -> new Graded(Verdict.PASS, "closed with FIN despite " + sent + ": " + seen.describe());
                case RST, FIN_THEN_RST -> new Graded(Verdict.FAIL, "closed with RST while " + sent + " were unread: "
                        + seen.describe() + "; a client still reading or sending loses the response" + LOOPBACK_NOTE);
                case OPEN -> {
                    exchange.halfClose();
                    Seen after = exchange.readToEnd(0, budget.endWait(timeoutMillis), Long.MAX_VALUE);
                    yield new Graded(Verdict.INFO, "not exercised: the server closed only after our half-close ("
                            + after.describe() + ")" + (closeRequest == null ? "; try --close-request" : ""));
                }
            };
        }
    }

    private Graded resetRecovery(Seen baseline) throws IOException, InterruptedException {
        try (Exchange resetter = Exchange.open(target, timeoutMillis)) {
            resetter.send(java.util.Arrays.copyOf(request, Math.max(1, request.length / 2)));
            resetter.reset();
        }
        // Give a server that falls over on a reset the moment it takes to fall.
        Thread.sleep(RECOVERY_PAUSE_MILLIS);
        Seen next = baseline();
        if (baseline.bytes() == 0) {
            // Serving and not serving look alike here; only a different ending tells.
            return next.end() == baseline.end() || next.bytes() > 0
                    ? new Graded(Verdict.INFO, "not exercised, the server answers nothing even normally: after a reset mid-request"
                            + " the next client got " + next.describe() + "; " + baselineWas(baseline))
                    : new Graded(Verdict.FAIL, "after a reset mid-request, the next client got " + next.describe()
                            + "; " + baselineWas(baseline));
        }
        boolean served = next.bytes() >= baseline.bytes();
        return new Graded(served ? Verdict.PASS : Verdict.FAIL,
                (served ? "served the next client after a reset mid-request: " : "after a reset mid-request, the next client got ")
                        + next.describe());
    }

    private Graded abortDuringResponse(Seen baseline, ExecutorService threads) throws Exception {
        if (baseline.bytes() == 0) {
            return new Graded(Verdict.INFO, "not exercised, the server answers nothing even normally, so there is no response"
                    + " to reset in the middle of; " + baselineWas(baseline));
        }
        byte[] pipelined = repeated(request, PIPELINED_BYTES);
        long received;
        try (Exchange exchange = Exchange.open(target, timeoutMillis)) {
            Future<?> writer = threads.submit(() -> {
                exchange.send(pipelined);
                return null;
            });
            received = exchange.readToEnd(0, budget.endWait(timeoutMillis), UNREAD_BYTES).bytes();
            exchange.reset();
            writer.cancel(true);
        }
        Seen next = baseline();
        boolean served = next.bytes() >= baseline.bytes();
        return new Graded(served ? Verdict.PASS : Verdict.FAIL, "read " + received + " bytes of the answer to "
                + pipelined.length + " pipelined bytes, then reset; the next client got " + next.describe());
    }

    private Check idle(Future<Seen> idle, long startNanos) {
        Seen seen;
        try {
            seen = idle.get(idleWaitMillis + 5_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            seen = new Seen(0, "", End.OPEN, idleWaitMillis);
        }
        long ms = (System.nanoTime() - startNanos) / 1_000_000;
        return switch (seen.end()) {
            case OPEN -> new Check("idle", Verdict.INFO, "kept an idle connection open >= " + idleWaitMillis / 1000.0 + " s", ms);
            case FIN -> new Check("idle", Verdict.INFO, "closed an idle connection with FIN after " + seen.ms() + " ms", ms);
            case RST, FIN_THEN_RST -> new Check("idle", Verdict.WARN, "closed an idle connection with RST after "
                    + seen.ms() + " ms: a client sending its request at that moment sees a reset, not a clean end", ms);
        };
    }

    /** {@code unit} repeated to at least {@code bytes}, so protocol limits do not turn it into an error. */
    static byte[] repeated(byte[] unit, int bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes + unit.length);
        while (out.size() < bytes) {
            out.writeBytes(unit);
        }
        return out.toByteArray();
    }
}
