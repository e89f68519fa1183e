package dev.grace.cli.demo;

import dev.grace.CloseReport;
import dev.grace.ConnectionState;
import dev.grace.Outcome;
import dev.grace.server.DrainReport;
import java.io.IOException;

/**
 * What the scenarios' facts read as in a step table: a close report, the end of a read, a drain.
 * Pure wording and deciding, no sockets, so each line is tested on its own.
 */
final class Observations {
    private Observations() {}

    /** {@code closed: ABORTED, TIME_WAIT: none, 16,777,216 B discarded unsent}. */
    static String closed(CloseReport report) {
        return "closed: " + report.outcome() + ", TIME_WAIT: " + report.timeWaitHolder().name().toLowerCase()
                + (report.discardedUnsent() > 0 ? String.format(", %,d B discarded unsent", report.discardedUnsent()) : "");
    }

    static String read(long bytes) {
        return String.format("read %,d B", bytes);
    }

    /** How a read to the end ended: EOF, or the failure's words ({@code Connection reset}). */
    static String ending(Loopback.ReadToEnd end) {
        return end.failure() == null ? "read() returned EOF" : "read failed: " + end.failure().getMessage();
    }

    /** How an upload ended: null is a write that completed. */
    static String upload(IOException failure) {
        return failure == null ? "upload completed" : "upload failed: " + failure.getMessage();
    }

    /**
     * Whether a state change is the server sending its FIN: lingering after our FIN, or closing
     * straight after the peer's FIN (the FIN went out as the connection closed).
     */
    static boolean serverSentFin(ConnectionState from, ConnectionState to) {
        return to == ConnectionState.LINGERING || (to == ConnectionState.CLOSED && from == ConnectionState.PEER_FIN_RECEIVED);
    }

    /** What the idle client's one read after the drain began returned. */
    static String idleClientRead(int firstByte) {
        return firstByte == -1 ? "idle client: read() returned EOF" : "idle client: read a byte?";
    }

    static String busyClientRead(long bytes) {
        return String.format("busy client: read the rest of the echo (%,d B in all), then EOF", bytes);
    }

    static String drained(DrainReport report) {
        return String.format("drained: %d graceful, %d aborted at the deadline in %d ms",
                report.graceful(), report.count(Outcome.ABORTED_AT_DEADLINE), report.duration().toMillis());
    }
}
