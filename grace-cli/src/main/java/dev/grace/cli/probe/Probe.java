package dev.grace.cli.probe;

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
 * {@code idleWait} + 15 s: the idle connection is opened first and collected last. Drives the
 * exchanges; {@link Grading} decides each verdict from what they saw, against the baseline.
 * Runs on the caller's thread, with a pool for the connections read in the background.
 */
public final class Probe {
    static final int UNREAD_BYTES = 64 * 1024;
    static final int CONCURRENT = 100;
    static final int PIPELINED_BYTES = 1024 * 1024;
    private static final long QUIET_MILLIS = 300;
    private static final long RECOVERY_PAUSE_MILLIS = 200;

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
            grade(checks, "unread-input", 1, this::unreadInput);
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
            graded = Grading.notRun(budget.leftMillis(), exchanges, needed);
        } else {
            try {
                graded = body.run();
            } catch (Exception e) {
                graded = Grading.couldNotComplete(e);
            }
        }
        checks.add(new Check(name, graded.verdict(), graded.evidence(), (System.nanoTime() - start) / 1_000_000));
    }

    /** The baseline check; a baseline that failed counts as 0 bytes then RST. */
    private Seen baselineCheck(List<Check> checks) {
        long start = System.nanoTime();
        Seen seen;
        Graded graded;
        try {
            seen = baseline();
            graded = Grading.baseline(seen);
        } catch (IOException e) {
            seen = new Seen(0, "", End.RST, 0);
            graded = Grading.baselineFailed(e);
        }
        checks.add(new Check("baseline", graded.verdict(), graded.evidence(), (System.nanoTime() - start) / 1_000_000));
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
            return Grading.halfClose(exchange.readToEnd(0, budget.endWait(timeoutMillis), Long.MAX_VALUE), baseline);
        }
    }

    private Graded unreadInput() throws IOException {
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
                return Grading.unreadInputResetWhileSending(resetWhileSending);
            }
            Seen seen = exchange.readToEnd(0, budget.endWait(Math.min(timeoutMillis, 3_000)), Long.MAX_VALUE);
            Seen afterHalfClose = null;
            if (seen.end() == End.OPEN) {
                exchange.halfClose();
                afterHalfClose = exchange.readToEnd(0, budget.endWait(timeoutMillis), Long.MAX_VALUE);
            }
            return Grading.unreadInput(seen, afterHalfClose, closeRequest != null);
        }
    }

    private Graded resetRecovery(Seen baseline) throws IOException, InterruptedException {
        try (Exchange resetter = Exchange.open(target, timeoutMillis)) {
            resetter.send(java.util.Arrays.copyOf(request, Math.max(1, request.length / 2)));
            resetter.reset();
        }
        // Give a server that falls over on a reset the moment it takes to fall.
        Thread.sleep(RECOVERY_PAUSE_MILLIS);
        return Grading.resetRecovery(baseline(), baseline);
    }

    private Graded abortDuringResponse(Seen baseline, ExecutorService threads) throws Exception {
        if (baseline.bytes() == 0) {
            return Grading.abortDuringResponseNotExercised(baseline);
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
        return Grading.abortDuringResponse(received, pipelined.length, baseline(), baseline);
    }

    private Check idle(Future<Seen> idle, long startNanos) {
        Seen seen;
        try {
            seen = idle.get(idleWaitMillis + 5_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            seen = new Seen(0, "", End.OPEN, idleWaitMillis);
        }
        Graded graded = Grading.idle(seen, idleWaitMillis);
        return new Check("idle", graded.verdict(), graded.evidence(), (System.nanoTime() - startNanos) / 1_000_000);
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
