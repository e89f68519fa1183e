package dev.grace.cli.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.cli.probe.Check.Verdict;
import dev.grace.cli.probe.ConcurrentGrading.Burst;
import dev.grace.cli.probe.ConcurrentGrading.Fate;
import dev.grace.cli.probe.Exchange.End;
import dev.grace.cli.probe.Exchange.Seen;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The concurrent-half-close verdict from the burst's fates, without a socket. */
class ConcurrentGradingTest {
    private static final Seen PONG_THEN_FIN = new Seen(6, "PONG", End.FIN, 10);
    private static final Seen NOTHING_OPEN = new Seen(0, "", End.OPEN, 5_000);

    @ParameterizedTest
    @CsvSource({
        "6, FIN, WHOLE", "9, FIN, WHOLE", "3, FIN, TRUNCATED",
        "3, RST, RESET_MIDWAY", "3, FIN_THEN_RST, RESET_MIDWAY", "0, RST, RESET_BEFORE_ANSWER",
        "0, OPEN, WAITED", "6, OPEN, OPEN"})
    void eachConnectionsFateAgainstABaselineThatEndedWithFin(long bytes, End end, Fate fate) {
        assertThat(ConcurrentGrading.fate(new Seen(bytes, "", end, 10), PONG_THEN_FIN)).isEqualTo(fate);
    }

    @Test
    void silenceIsNoNewsFromAServerThatKeepsItsBaselineOpenToo() {
        assertThat(ConcurrentGrading.fate(new Seen(0, "", End.OPEN, 10), NOTHING_OPEN)).isEqualTo(Fate.OPEN);
    }

    @Test
    void everyConnectionAnsweredInFullPasses() {
        Graded graded = ConcurrentGrading.grade(new Burst(100, Map.of(Fate.WHOLE, 100), null, 0, 0, null, 0), PONG_THEN_FIN);

        assertThat(graded).isEqualTo(new Graded(Verdict.PASS, "100/100 got the whole response then FIN"));
    }

    @Test
    void aTruncatedOrResetAnswerInTheBurstFails() {
        assertThat(ConcurrentGrading.grade(new Burst(100, Map.of(Fate.WHOLE, 99, Fate.TRUNCATED, 1), null, 0, 0, null, 0), PONG_THEN_FIN))
                .isEqualTo(new Graded(Verdict.FAIL, "99/100 got the whole response then FIN, 1 ended with FIN before the whole response (truncated)"));
        assertThat(ConcurrentGrading.grade(new Burst(10, Map.of(Fate.WHOLE, 9, Fate.RESET_MIDWAY, 1), null, 0, 0, null, 0), PONG_THEN_FIN)
                .verdict()).isEqualTo(Verdict.FAIL);
    }

    @Test
    void failuresBeforeTheAnswerThatGoAwayAloneAreTheBacklogAWarning() {
        Graded graded = ConcurrentGrading.grade(new Burst(100, Map.of(Fate.WHOLE, 90, Fate.RESET_BEFORE_ANSWER, 10), null, 10, 10, null, 0),
                PONG_THEN_FIN);

        assertThat(graded.verdict()).isEqualTo(Verdict.WARN);
        assertThat(graded.evidence()).isEqualTo("90/100 got the whole response then FIN, 10 reset before any byte of the response; "
                + "tried again one at a time, 10 got the whole response then FIN: the listen backlog overflowed at the burst of connects"
                + " (the server's kernel dropped those handshakes), not a closing bug, though a busy server's clients see it too");
    }

    @Test
    void theSameFailureAloneIsAClosingBug() {
        Graded graded = ConcurrentGrading.grade(new Burst(100, Map.of(Fate.WHOLE, 95, Fate.RESET_BEFORE_ANSWER, 5), null, 5, 2,
                Fate.RESET_BEFORE_ANSWER, 2), PONG_THEN_FIN);

        assertThat(graded.verdict()).isEqualTo(Verdict.FAIL);
        assertThat(graded.evidence()).endsWith("tried again one at a time, 2 got the whole response then FIN, "
                + "then one reset before any byte of the response again, alone, 2 not tried again");
    }

    @Test
    void aRetryCutShortByTheBudgetSaysSo() {
        Graded graded = ConcurrentGrading.grade(new Burst(10, Map.of(Fate.WHOLE, 5, Fate.WAITED, 5), null, 5, 1, null, 4), PONG_THEN_FIN);

        assertThat(graded.verdict()).isEqualTo(Verdict.WARN);
        assertThat(graded.evidence()).contains(", 4 not tried again (out of time): the listen backlog");
    }

    @Test
    void noConnectionEverConnectingIsNotExercisedAndSaysWhy() {
        Graded graded = ConcurrentGrading.grade(new Burst(3, Map.of(Fate.NOT_CONNECTED, 3), "Connection refused", 3, 0,
                Fate.NOT_CONNECTED, 2), PONG_THEN_FIN);

        assertThat(graded.verdict()).isEqualTo(Verdict.INFO);
        assertThat(graded.evidence()).startsWith("not exercised: 0/3 got the whole response then FIN, 3 could not connect (Connection refused)");
    }

    @Test
    void aServerThatNeverAnswersNorClosesIsNotExercisedNotFailed() {
        Graded graded = ConcurrentGrading.grade(new Burst(4, Map.of(Fate.OPEN, 4), null, 0, 0, null, 0), NOTHING_OPEN);

        assertThat(graded).isEqualTo(new Graded(Verdict.INFO,
                "not exercised, the server answers nothing even normally: 0/4 ended with FIN, 4 left open after our half-close"));
    }
}
