package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Outcome;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The drain report's sums: every connection is graceful or one of the unclean outcomes. */
class DrainReportTest {

    @Test
    void gracefulCountsEveryCleanOutcomeSoTheCountsAddUp() {
        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        int n = 1;
        for (Outcome outcome : Outcome.values()) {
            outcomes.put(outcome, n++);
        }
        DrainReport report = new DrainReport(outcomes, 0, 0, Duration.ZERO, false);

        assertThat(report.graceful()).as("FIN_BOTH_WAYS + FIN_SENT + RELEASED_WITH_RESET")
                .isEqualTo(report.count(Outcome.FIN_BOTH_WAYS) + report.count(Outcome.FIN_SENT)
                        + report.count(Outcome.RELEASED_WITH_RESET));
        int unclean = report.count(Outcome.PEER_RESET) + report.count(Outcome.ABORTED)
                + report.count(Outcome.ABORTED_AT_DEADLINE) + report.count(Outcome.ERROR);
        assertThat(report.graceful() + unclean).isEqualTo(report.connections());
    }

    @Test
    void anOutcomeNobodyHadCountsZero() {
        DrainReport report = new DrainReport(Map.of(Outcome.RELEASED_WITH_RESET, 3), 0, 0, Duration.ZERO, false);

        assertThat(report.graceful()).isEqualTo(3);
        assertThat(report.count(Outcome.PEER_RESET)).isZero();
        assertThat(report.connections()).isEqualTo(3);
    }
}
