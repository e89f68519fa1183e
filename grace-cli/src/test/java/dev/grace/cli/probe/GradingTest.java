package dev.grace.cli.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.cli.probe.Check.Verdict;
import dev.grace.cli.probe.Exchange.End;
import dev.grace.cli.probe.Exchange.Seen;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Each check's verdict from what its exchanges saw, without a socket. */
class GradingTest {
    private static final Seen PONG_THEN_OPEN = new Seen(6, "PONG", End.OPEN, 300);
    private static final Seen NOTHING_THEN_FIN = new Seen(0, "", End.FIN, 40);

    private static Seen seen(long bytes, End end) {
        return new Seen(bytes, bytes > 0 ? "PONG" : "", end, 12);
    }

    @Test
    void halfCloseAnsweredInFullThenFinPasses() {
        Graded graded = Grading.halfClose(seen(6, End.FIN), PONG_THEN_OPEN);

        assertThat(graded.verdict()).isEqualTo(Verdict.PASS);
        assertThat(graded.evidence()).isEqualTo("after our half-close: 6 bytes (\"PONG\") then FIN: the whole response");
    }

    @Test
    void halfCloseFailsOnAResetOrATruncatedAnswerAndWarnsWhenLeftOpenOrUnanswered() {
        assertThat(Grading.halfClose(seen(6, End.RST), PONG_THEN_OPEN).verdict()).isEqualTo(Verdict.FAIL);
        assertThat(Grading.halfClose(seen(6, End.FIN_THEN_RST), PONG_THEN_OPEN).verdict()).as("an RST right after the FIN").isEqualTo(Verdict.FAIL);
        assertThat(Grading.halfClose(seen(3, End.FIN), PONG_THEN_OPEN))
                .isEqualTo(new Graded(Verdict.FAIL, "after our half-close: 3 bytes (\"PONG\") then FIN: truncated, the baseline was 6 bytes"));
        assertThat(Grading.halfClose(seen(6, End.OPEN), PONG_THEN_OPEN))
                .isEqualTo(new Graded(Verdict.WARN, "after our half-close: 6 bytes (\"PONG\") and the connection stayed open for 12 ms: "
                        + "a half-closed client waits on it"));
        assertThat(Grading.halfClose(seen(0, End.FIN), PONG_THEN_OPEN).evidence()).endsWith(": the server answers nothing once it sees our FIN");
        assertThat(Grading.halfClose(seen(0, End.FIN), PONG_THEN_OPEN).verdict()).isEqualTo(Verdict.WARN);
    }

    @Test
    void halfCloseAgainstAServerThatAnswersNothingEvenNormallyIsNotExercised() {
        Graded graded = Grading.halfClose(seen(0, End.FIN), NOTHING_THEN_FIN);

        assertThat(graded.verdict()).isEqualTo(Verdict.INFO);
        assertThat(graded.evidence()).startsWith("not exercised, the server answers nothing even normally: ")
                .endsWith("; the baseline got 0 bytes then FIN after 40 ms");
    }

    @Test
    void unreadInputPassesWithFinAndFailsWithReset() {
        assertThat(Grading.unreadInput(seen(6, End.FIN), null, false).verdict()).isEqualTo(Verdict.PASS);
        Graded reset = Grading.unreadInput(seen(6, End.FIN_THEN_RST), null, false);
        assertThat(reset.verdict()).isEqualTo(Verdict.FAIL);
        assertThat(reset.evidence()).startsWith("closed with RST while 65536 more bytes it never read were unread: ")
                .contains("on loopback the kernel keeps data readable after an RST");
        assertThat(Grading.unreadInputResetWhileSending(new IOException("Connection reset by peer")))
                .isEqualTo(new Graded(Verdict.FAIL, "reset while we were still sending the request and 65536 more bytes "
                        + "(Connection reset by peer): a client that sends before it reads never gets the answer"));
    }

    @Test
    void unreadInputLeftOpenUntilOurHalfCloseIsNotExercisedAndSuggestsACloseRequestOnce() {
        Graded withoutCloseRequest = Grading.unreadInput(seen(6, End.OPEN), seen(0, End.FIN), false);
        Graded withCloseRequest = Grading.unreadInput(seen(6, End.OPEN), seen(0, End.FIN), true);

        assertThat(withoutCloseRequest).isEqualTo(new Graded(Verdict.INFO,
                "not exercised: the server closed only after our half-close (0 bytes then FIN); try --close-request"));
        assertThat(withCloseRequest.verdict()).isEqualTo(Verdict.INFO);
        assertThat(withCloseRequest.evidence()).doesNotContain("--close-request");
    }

    @Test
    void resetRecoveryPassesOnlyWhenTheNextClientGetsTheWholeAnswer() {
        assertThat(Grading.resetRecovery(seen(6, End.OPEN), PONG_THEN_OPEN))
                .isEqualTo(new Graded(Verdict.PASS, "served the next client after a reset mid-request: 6 bytes (\"PONG\") and the connection stayed open"));
        assertThat(Grading.resetRecovery(seen(0, End.RST), PONG_THEN_OPEN))
                .isEqualTo(new Graded(Verdict.FAIL, "after a reset mid-request, the next client got 0 bytes then RST"));
    }

    @Test
    void resetRecoveryAgainstASilentServerTellsOnlyByADifferentEnding() {
        assertThat(Grading.resetRecovery(seen(0, End.FIN), NOTHING_THEN_FIN).verdict()).isEqualTo(Verdict.INFO);
        assertThat(Grading.resetRecovery(seen(0, End.RST), NOTHING_THEN_FIN).verdict()).isEqualTo(Verdict.FAIL);
        assertThat(Grading.resetRecovery(seen(6, End.RST), NOTHING_THEN_FIN).verdict()).as("it answered this time").isEqualTo(Verdict.INFO);
    }

    @Test
    void abortDuringResponseGradesTheNextClient() {
        assertThat(Grading.abortDuringResponse(65_536, 1_048_578, seen(6, End.OPEN), PONG_THEN_OPEN))
                .isEqualTo(new Graded(Verdict.PASS, "read 65536 bytes of the answer to 1048578 pipelined bytes, then reset; "
                        + "the next client got 6 bytes (\"PONG\") and the connection stayed open"));
        assertThat(Grading.abortDuringResponse(10, 100, seen(0, End.RST), PONG_THEN_OPEN).verdict()).isEqualTo(Verdict.FAIL);
        assertThat(Grading.abortDuringResponseNotExercised(NOTHING_THEN_FIN).verdict()).isEqualTo(Verdict.INFO);
    }

    @Test
    void anIdleConnectionClosedWithResetIsAWarningAndAnyOtherEndIsInformation() {
        assertThat(Grading.idle(new Seen(0, "", End.OPEN, 500), 500))
                .isEqualTo(new Graded(Verdict.INFO, "kept an idle connection open >= 0.5 s"));
        assertThat(Grading.idle(new Seen(0, "", End.FIN, 120), 5_000))
                .isEqualTo(new Graded(Verdict.INFO, "closed an idle connection with FIN after 120 ms"));
        assertThat(Grading.idle(new Seen(0, "", End.RST, 120), 5_000).verdict()).isEqualTo(Verdict.WARN);
        assertThat(Grading.idle(new Seen(0, "", End.FIN_THEN_RST, 120), 5_000).verdict()).isEqualTo(Verdict.WARN);
    }

    @Test
    void aCheckWithoutTimeLeftIsNotRunAndSaysHowMuchItNeeded() {
        assertThat(Grading.notRun(800, 1, 1_300)).isEqualTo(new Graded(Verdict.INFO,
                "not run: 800 ms were left of the probe's time budget, and its exchange needs 1300 ms (the baseline's time, and a margin)"));
        assertThat(Grading.notRun(800, 2, 2_600).evidence()).contains("its 2 exchanges need 2600 ms");
    }

    @Test
    void theBaselineIsNeverAPass() {
        assertThat(Grading.baseline(seen(6, End.FIN)))
                .isEqualTo(new Graded(Verdict.INFO, "the request sent normally: 6 bytes (\"PONG\") then FIN"));
        assertThat(Grading.baselineFailed(new IOException("Connection reset")))
                .isEqualTo(new Graded(Verdict.INFO, "the request sent normally failed: Connection reset"));
    }
}
