package dev.grace.cli;

import dev.grace.CloseReport;
import dev.grace.Outcome;
import dev.grace.Side;
import dev.grace.server.DrainReport;
import java.net.InetSocketAddress;
import java.util.Locale;

/** The greppable {@code key=value} lines an operator reads on stderr. */
final class Lines {
    private Lines() {}

    /** {@code closed peer=127.0.0.1:53122 outcome=FIN_BOTH_WAYS first=peer in=1048576 out=1048576 discarded=0 ms=12} */
    static String closed(CloseReport report) {
        String peer = report.remote() instanceof InetSocketAddress address ? Values.format(address) : String.valueOf(report.remote());
        return "closed peer=" + peer
                + " outcome=" + report.outcome()
                + " first=" + side(report.firstCloser())
                + " in=" + report.bytesIn()
                + " out=" + report.bytesOut()
                + " discarded=" + (report.discardedUnsent() + report.discardedInbound())
                + " ms=" + report.duration().toMillis();
    }

    /** {@code drained: graceful=3 aborted_at_deadline=1 reset_by_peer=0 aborted=0 error=0 discarded=0 ms=512} */
    static String drained(DrainReport report) {
        return "drained: graceful=" + report.graceful()
                + " aborted_at_deadline=" + report.count(Outcome.ABORTED_AT_DEADLINE)
                + " reset_by_peer=" + report.count(Outcome.PEER_RESET)
                + " aborted=" + report.count(Outcome.ABORTED)
                + " error=" + report.count(Outcome.ERROR)
                + " discarded=" + report.bytesDiscarded()
                + " ms=" + report.duration().toMillis();
    }

    private static String side(Side side) {
        return side.name().toLowerCase(Locale.ROOT);
    }
}
