/**
 * {@code grace probe}: how any TCP server ends its connections, found by talking to it over plain
 * sockets and grading what reached the wire against a baseline exchange. {@link dev.grace.cli.probe.Probe}
 * drives the checks (the concurrent one in {@link dev.grace.cli.probe.ConcurrentHalfClose});
 * {@link dev.grace.cli.probe.Exchange} reads one connection to its end and tells FIN, RST and
 * FIN-then-RST apart; the verdicts are decided without sockets in
 * {@link dev.grace.cli.probe.Grading} and {@link dev.grace.cli.probe.ConcurrentGrading}.
 */
package dev.grace.cli.probe;
