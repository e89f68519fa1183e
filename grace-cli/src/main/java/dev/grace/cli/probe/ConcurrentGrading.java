package dev.grace.cli.probe;

import dev.grace.cli.probe.Check.Verdict;
import dev.grace.cli.probe.Exchange.End;
import dev.grace.cli.probe.Exchange.Seen;
import java.util.Map;

/**
 * The concurrent-half-close verdict, decided from how each connection of the burst went and how
 * the ones tried again alone went: pure, no sockets. Why failures before the answer are tried
 * again is told in {@link ConcurrentHalfClose}.
 */
final class ConcurrentGrading {
    /** How one connection went. */
    enum Fate {
        WHOLE("got the whole response then FIN"),
        TRUNCATED("ended with FIN before the whole response (truncated)"),
        RESET_MIDWAY("reset during the response"),
        OPEN("left open after our half-close"),
        RESET_BEFORE_ANSWER("reset before any byte of the response"),
        WAITED("waited without a byte of the response until we gave up"),
        NOT_CONNECTED("could not connect");

        final String words;

        Fate(String words) {
            this.words = words;
        }

        /** Failed before any byte of the answer: what a listen backlog overflow looks like too. */
        boolean beforeAnswer() {
            return this == RESET_BEFORE_ANSWER || this == WAITED || this == NOT_CONNECTED;
        }

        boolean closingBug() {
            return this != WHOLE && this != NOT_CONNECTED;
        }
    }

    /**
     * What the burst saw.
     *
     * @param first               how many connections of the burst met each fate
     * @param notConnectedBecause why the first connect that failed did, or null
     * @param beforeAnswer        connections of the burst that failed before the answer
     * @param recovered           of those, how many got the whole response when tried again alone
     * @param failedAgain         how the first one tried again failed, or null
     * @param notRetried          how many were not tried again (after a failure, or for lack of time)
     */
    record Burst(int connections, Map<Fate, Integer> first, String notConnectedBecause, int beforeAnswer, int recovered,
            Fate failedAgain, int notRetried) {}

    private ConcurrentGrading() {}

    static Fate fate(Seen seen, Seen baseline) {
        return switch (seen.end()) {
            case FIN -> seen.bytes() >= baseline.bytes() ? Fate.WHOLE : Fate.TRUNCATED;
            case RST, FIN_THEN_RST -> seen.bytes() > 0 ? Fate.RESET_MIDWAY : Fate.RESET_BEFORE_ANSWER;
            // Waiting in silence is only news when the server ends its baseline exchange.
            case OPEN -> seen.bytes() == 0 && baseline.end() != End.OPEN ? Fate.WAITED : Fate.OPEN;
        };
    }

    /**
     * FAIL for a closing bug in the burst or in a connection alone; WARN when failures before the
     * answer went away alone (the backlog); INFO when nothing was exercised; else PASS.
     */
    static Graded grade(Burst burst, Seen baseline) {
        String whole = baseline.bytes() > 0 ? Fate.WHOLE.words : "ended with FIN";
        StringBuilder evidence = new StringBuilder()
                .append(burst.first().getOrDefault(Fate.WHOLE, 0)).append('/').append(burst.connections()).append(' ').append(whole);
        boolean closingBug = false;
        for (Fate fate : Fate.values()) {
            int count = burst.first().getOrDefault(fate, 0);
            if (fate != Fate.WHOLE && count > 0) {
                evidence.append(", ").append(count).append(' ').append(fate.words)
                        .append(fate == Fate.NOT_CONNECTED ? " (" + burst.notConnectedBecause() + ")" : "");
                // Left open by a server that never answers nor closes even normally: as in the baseline.
                boolean likeBaseline = fate == Fate.OPEN && baseline.bytes() == 0;
                closingBug |= fate.closingBug() && !fate.beforeAnswer() && !likeBaseline;
            }
        }
        if (burst.beforeAnswer() > 0) {
            evidence.append("; tried again one at a time, ").append(burst.recovered()).append(' ').append(whole);
            if (burst.failedAgain() != null) {
                evidence.append(", then one ").append(burst.failedAgain().words).append(" again, alone");
                closingBug |= burst.failedAgain().closingBug();
            }
            if (burst.notRetried() > 0) {
                evidence.append(", ").append(burst.notRetried())
                        .append(burst.failedAgain() != null ? " not tried again" : " not tried again (out of time)");
            }
            if (burst.recovered() > 0 && burst.failedAgain() == null) {
                evidence.append(": the listen backlog overflowed at the burst of connects (the server's kernel dropped"
                        + " those handshakes), not a closing bug, though a busy server's clients see it too");
            }
        }
        Verdict verdict;
        if (closingBug) {
            verdict = Verdict.FAIL;
        } else if (burst.beforeAnswer() == burst.connections() && burst.recovered() == 0) {
            verdict = Verdict.INFO;
            evidence.insert(0, "not exercised: ");
        } else if (burst.beforeAnswer() > 0) {
            verdict = Verdict.WARN;
        } else if (baseline.bytes() == 0) {
            verdict = Verdict.INFO;
            evidence.insert(0, "not exercised, the server answers nothing even normally: ");
        } else {
            verdict = Verdict.PASS;
        }
        return new Graded(verdict, evidence.toString());
    }
}
