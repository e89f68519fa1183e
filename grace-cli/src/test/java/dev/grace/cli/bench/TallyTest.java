package dev.grace.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Outcome;
import dev.grace.Transport;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What each ending counts as, and how the result is summed: no sockets. */
class TallyTest {
    private static final Load.Settings SETTINGS = new Load.Settings(Load.Mode.CHURN,
            InetSocketAddress.createUnresolved("127.0.0.1", 7000), 2, 64, Duration.ofSeconds(1), Transport.NIO, null);

    @ParameterizedTest
    @CsvSource({
        "FIN_BOTH_WAYS, CLEAN", "FIN_SENT, CLEAN", "RELEASED_WITH_RESET, CLEAN",
        "ABORTED_AT_DEADLINE, TIMEOUT",
        "PEER_RESET, RESET", "ABORTED, RESET", "ERROR, RESET"})
    void everyOutcomeCountsAsOneKindOfEnd(Outcome outcome, Tally.End end) {
        assertThat(Tally.endOf(outcome)).isEqualTo(end);
    }

    @Test
    void endingsAreCountedByKindAndConnectionsStillOpenAreTimeouts() {
        Tally tally = new Tally();
        tally.ended(Outcome.FIN_BOTH_WAYS);
        tally.ended(Outcome.RELEASED_WITH_RESET);
        tally.ended(Outcome.PEER_RESET);
        tally.ended(Outcome.ERROR);
        tally.ended(Outcome.ABORTED_AT_DEADLINE);

        Load.Result result = tally.result(SETTINGS, 1.0, 0, 0, new Histogram(3), 3);

        assertThat(result.clean()).isEqualTo(2);
        assertThat(result.reset()).isEqualTo(2);
        assertThat(result.timeout()).isEqualTo(1 + 3);
    }

    @Test
    void theFirstMismatchIsTheOneReported() {
        Tally tally = new Tally();

        assertThat(tally.mismatch("data mismatch on connection 1 at byte 5")).isTrue();
        assertThat(tally.mismatch("data mismatch on connection 0 at byte 9")).isFalse();
        assertThat(tally.result(SETTINGS, 1.0, 0, 0, new Histogram(3), 0).mismatch()).isEqualTo("data mismatch on connection 1 at byte 5");
    }

    @Test
    void operationsAndVerifiedBytesAddUpAndLatencyIsHandedOutPerInterval() {
        Tally tally = new Tally();
        tally.operation(1_500);
        tally.operation(0);
        tally.operation();
        tally.verified(64);
        tally.verified(36);

        assertThat(tally.operations()).isEqualTo(3);
        assertThat(tally.bytes()).isEqualTo(100);
        Histogram interval = tally.interval();
        assertThat(interval.getTotalCount()).as("a write has no latency of its own").isEqualTo(2);
        assertThat(interval.getMinValue()).as("a zero latency is recorded as 1 ns").isEqualTo(1);
        assertThat(tally.interval().getTotalCount()).isZero();
    }

    @Test
    void theResultKeepsTheFiguresCountedWhenTheTimeWasUp() {
        Tally tally = new Tally();
        tally.operation();
        tally.verified(10);

        Load.Result result = tally.result(SETTINGS, 2.5, 7, 700, new Histogram(3), 0);

        assertThat(result.operations()).isEqualTo(7);
        assertThat(result.bytes()).isEqualTo(700);
        assertThat(result.seconds()).isEqualTo(2.5);
        assertThat(result.settings()).isSameAs(SETTINGS);
    }
}
