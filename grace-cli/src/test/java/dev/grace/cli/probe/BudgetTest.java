package dev.grace.cli.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.cli.probe.Exchange.End;
import dev.grace.cli.probe.Exchange.Seen;
import org.junit.jupiter.api.Test;

/** How long each exchange may wait, given what the baseline took. */
class BudgetTest {

    @Test
    void aSlowBaselineStretchesEveryWaitToItsOwnTimeAndAMargin() {
        Budget budget = new Budget(60_000);
        budget.baselineSeen(new Seen(0, "", End.FIN, 3_000));

        assertThat(budget.latencyMillis()).isEqualTo(4_000);
        assertThat(budget.endWait(3_000)).isEqualTo(4_000);
        assertThat(budget.endWait(5_000)).isEqualTo(5_000);
    }

    @Test
    void aBaselineThatNeverEndedAddsNothingToTheWait() {
        Budget budget = new Budget(60_000);
        budget.baselineSeen(new Seen(0, "", End.OPEN, 5_000));

        assertThat(budget.endWait(3_000)).isEqualTo(3_000);
        assertThat(budget.latencyMillis()).isEqualTo(Budget.LATENCY_MARGIN_MILLIS);
    }

    @Test
    void waitsNeverOutlastTheBudgetButKeepAFloor() {
        Budget budget = new Budget(2_000);
        budget.baselineSeen(new Seen(10, "x", End.FIN, 3_000));

        assertThat(budget.endWait(5_000)).isBetween(1, 2_000);
        assertThat(new Budget(0).bounded(5_000)).isEqualTo(100);
    }
}
