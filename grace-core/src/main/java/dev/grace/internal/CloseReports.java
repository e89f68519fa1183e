package dev.grace.internal;

import dev.grace.CloseReport;
import dev.grace.Delivery;
import dev.grace.Outcome;
import dev.grace.Side;
import java.net.SocketAddress;
import java.time.Duration;

/** Builds the one {@link CloseReport} of a connection from what its machine decided and what its counters saw. */
final class CloseReports {
    private CloseReports() {}

    static CloseReport of(CloseMachine machine, DeliveryWatch watch, SocketAddress local, SocketAddress remote,
            long bytesIn, WriteLedger writes, long discardedInbound, long durationNanos) {
        Outcome outcome = machine.outcome();
        Delivery delivery;
        if (!outcome.isClean()) {
            delivery = Delivery.NOT_GUARANTEED;
        } else if (watch.finAcknowledgedAtClose()) {
            delivery = Delivery.CONFIRMED;
        } else {
            delivery = Delivery.FLUSHED_TO_KERNEL;
        }
        // A reset leaves no TIME_WAIT on either side, a release with RST included.
        Side timeWaitHolder = outcome.isClean() && !machine.releasedWithReset() ? machine.firstFin() : Side.NONE;
        return new CloseReport(local, remote, outcome, machine.firstCloser(), timeWaitHolder, delivery,
                bytesIn, writes.written(), writes.unsent(), discardedInbound,
                watch.unackedSegmentsAtClose(), Duration.ofNanos(durationNanos), machine.cause());
    }
}
