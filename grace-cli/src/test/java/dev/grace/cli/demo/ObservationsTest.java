package dev.grace.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.CloseReport;
import dev.grace.ConnectionState;
import dev.grace.Delivery;
import dev.grace.Outcome;
import dev.grace.Side;
import dev.grace.server.DrainReport;
import java.io.IOException;
import java.net.SocketException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The words each scenario's facts become in the step table, without a socket. */
class ObservationsTest {

    private static CloseReport report(Outcome outcome, Side timeWait, long discardedUnsent) {
        return new CloseReport(null, null, outcome, Side.LOCAL, timeWait, Delivery.FLUSHED_TO_KERNEL, 0, 0, discardedUnsent, 0, 0,
                Duration.ofMillis(5), null);
    }

    @Test
    void aCloseNamesItsOutcomeWhoHoldsTimeWaitAndOnlyThenWhatWasDiscarded() {
        assertThat(Observations.closed(report(Outcome.FIN_BOTH_WAYS, Side.PEER, 0))).isEqualTo("closed: FIN_BOTH_WAYS, TIME_WAIT: peer");
        assertThat(Observations.closed(report(Outcome.ABORTED, Side.NONE, 16 * 1024 * 1024)))
                .isEqualTo("closed: ABORTED, TIME_WAIT: none, 16,777,216 B discarded unsent");
    }

    @Test
    void aReadEndsWithEofOrWithTheFailuresWords() {
        assertThat(Observations.ending(new Loopback.ReadToEnd(10, null))).isEqualTo("read() returned EOF");
        assertThat(Observations.ending(new Loopback.ReadToEnd(128_000, new SocketException("Connection reset"))))
                .isEqualTo("read failed: Connection reset");
        assertThat(Observations.read(128_000)).isEqualTo("read 128,000 B");
    }

    @Test
    void anUploadCompletesOrFailsWithTheFailuresWords() {
        assertThat(Observations.upload(null)).isEqualTo("upload completed");
        assertThat(Observations.upload(new IOException("Broken pipe"))).isEqualTo("upload failed: Broken pipe");
    }

    @ParameterizedTest
    @CsvSource({
        "OPEN, LINGERING, true",
        "FIN_SENT, LINGERING, true",
        "PEER_FIN_RECEIVED, CLOSED, true",
        "OPEN, FIN_SENT, false",
        "OPEN, PEER_FIN_RECEIVED, false",
        "LINGERING, CLOSED, false",
        "OPEN, CLOSED, false",
        "OPEN, FLUSHING, false"})
    void theServersFinIsLingeringOrAClosePromptedByThePeersFin(ConnectionState from, ConnectionState to, boolean fin) {
        assertThat(Observations.serverSentFin(from, to)).isEqualTo(fin);
    }

    @Test
    void theDrainClientsReadsAreWordedByWhatTheyGot() {
        assertThat(Observations.idleClientRead(-1)).isEqualTo("idle client: read() returned EOF");
        assertThat(Observations.idleClientRead('h')).isEqualTo("idle client: read a byte?");
        assertThat(Observations.busyClientRead(4 * 1024 * 1024)).isEqualTo("busy client: read the rest of the echo (4,194,304 B in all), then EOF");
    }

    @Test
    void theDrainLineCountsGracefulEndsAndAbortsAtTheDeadline() {
        DrainReport report = new DrainReport(Map.of(Outcome.FIN_BOTH_WAYS, 2, Outcome.PEER_RESET, 1, Outcome.ABORTED_AT_DEADLINE, 3),
                0, 0, Duration.ofMillis(34), false);

        assertThat(Observations.drained(report)).isEqualTo("drained: 2 graceful, 3 aborted at the deadline in 34 ms");
    }
}
