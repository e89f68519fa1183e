package dev.grace.server;

/**
 * Requests as a request/response protocol counts them, for a drain's report. A protocol keeps
 * running totals ({@link Protocol#requestCounts()}); the drain reports what changed between
 * its start and its end ({@link #since}). Protocols without requests report {@link #NONE}.
 *
 * @param inFlight          requests received and not yet answered (at the drain's start, in a report)
 * @param finished          responses completed
 * @param goodbyes          goodbyes said: responses sent with {@code Connection: close}, final
 *                          GOAWAYs, WebSocket close frames with 1001
 * @param closedIdle        connections closed with no request in flight and no goodbye to carry
 * @param discardedAfterGoodbye requests, or connections' trailing input, dropped unanswered
 *                          after the goodbye or our FIN: the client may retry them, none was processed
 */
public record RequestCounts(long inFlight, long finished, long goodbyes, long closedIdle, long discardedAfterGoodbye) {

    public static final RequestCounts NONE = new RequestCounts(0, 0, 0, 0, 0);

    /** What happened from {@code start} to now: totals subtracted, the in-flight gauge as it was at the start. */
    public RequestCounts since(RequestCounts start) {
        return new RequestCounts(start.inFlight, finished - start.finished, goodbyes - start.goodbyes,
                closedIdle - start.closedIdle, discardedAfterGoodbye - start.discardedAfterGoodbye);
    }
}
