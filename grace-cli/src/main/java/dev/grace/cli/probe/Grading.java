package dev.grace.cli.probe;

import dev.grace.cli.probe.Check.Verdict;
import dev.grace.cli.probe.Exchange.Seen;
import java.io.IOException;

/**
 * The verdict of each check, decided from what its exchanges saw and from the baseline: pure,
 * no sockets. A check the server never exercised (it answers nothing even normally, or closes
 * only when asked) is INFO, never PASS.
 */
final class Grading {
    private static final String LOOPBACK_NOTE =
            " (on loopback the kernel keeps data readable after an RST, so the damage looks smaller than over a real link)";

    private Grading() {}

    /** The baseline as a clause, for evidence that compares against it. */
    static String baselineWas(Seen baseline) {
        return "the baseline got " + baseline.describe() + " after " + baseline.ms() + " ms";
    }

    /** INFO, never PASS: an error answer or an empty one shows here, and every other check compares against it. */
    static Graded baseline(Seen seen) {
        return new Graded(Verdict.INFO, "the request sent normally: " + seen.describe());
    }

    static Graded baselineFailed(IOException failure) {
        return new Graded(Verdict.INFO, "the request sent normally failed: " + failure.getMessage());
    }

    /** A check the time left cannot give the exchanges it needs: cut short, it would grade the server on our impatience. */
    static Graded notRun(long leftMillis, int exchanges, long neededMillis) {
        return new Graded(Verdict.INFO, "not run: " + leftMillis + " ms were left of the probe's time budget, and "
                + (exchanges == 1 ? "its exchange needs" : "its " + exchanges + " exchanges need") + " " + neededMillis
                + " ms (the baseline's time, and a margin)");
    }

    static Graded couldNotComplete(Exception failure) {
        return new Graded(Verdict.FAIL, "the check could not complete: " + failure);
    }

    /** The request, our FIN, and what came back before the server's end. */
    static Graded halfClose(Seen seen, Seen baseline) {
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

    static Graded unreadInputResetWhileSending(IOException failure) {
        return new Graded(Verdict.FAIL, "reset while we were still sending the request and " + Probe.UNREAD_BYTES
                + " more bytes (" + failure.getMessage() + "): a client that sends before it reads never gets the answer");
    }

    /**
     * The request (and the close request, when given) followed by bytes the server never reads.
     *
     * @param afterHalfClose what came once we half-closed, read only when {@code seen} stayed open
     */
    static Graded unreadInput(Seen seen, Seen afterHalfClose, boolean closeRequestGiven) {
        String sent = Probe.UNREAD_BYTES + " more bytes it never read";
        return switch (seen.end()) {
            case FIN -> new Graded(Verdict.PASS, "closed with FIN despite " + sent + ": " + seen.describe());
            case RST, FIN_THEN_RST -> new Graded(Verdict.FAIL, "closed with RST while " + sent + " were unread: "
                    + seen.describe() + "; a client still reading or sending loses the response" + LOOPBACK_NOTE);
            case OPEN -> new Graded(Verdict.INFO, "not exercised: the server closed only after our half-close ("
                    + afterHalfClose.describe() + ")" + (closeRequestGiven ? "" : "; try --close-request"));
        };
    }

    /** What the next client got after another reset in the middle of its request. */
    static Graded resetRecovery(Seen next, Seen baseline) {
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

    /** Against a server that answers nothing there is no response to reset in the middle of. */
    static Graded abortDuringResponseNotExercised(Seen baseline) {
        return new Graded(Verdict.INFO, "not exercised, the server answers nothing even normally, so there is no response"
                + " to reset in the middle of; " + baselineWas(baseline));
    }

    /** We read part of the answer to pipelined requests and reset; what the next client got. */
    static Graded abortDuringResponse(long received, int pipelinedBytes, Seen next, Seen baseline) {
        boolean served = next.bytes() >= baseline.bytes();
        return new Graded(served ? Verdict.PASS : Verdict.FAIL, "read " + received + " bytes of the answer to "
                + pipelinedBytes + " pipelined bytes, then reset; the next client got " + next.describe());
    }

    /** Who closed an idle connection, when, and how; keeping it open is the server's right (INFO). */
    static Graded idle(Seen seen, long idleWaitMillis) {
        return switch (seen.end()) {
            case OPEN -> new Graded(Verdict.INFO, "kept an idle connection open >= " + idleWaitMillis / 1000.0 + " s");
            case FIN -> new Graded(Verdict.INFO, "closed an idle connection with FIN after " + seen.ms() + " ms");
            case RST, FIN_THEN_RST -> new Graded(Verdict.WARN, "closed an idle connection with RST after "
                    + seen.ms() + " ms: a client sending its request at that moment sees a reset, not a clean end");
        };
    }
}
