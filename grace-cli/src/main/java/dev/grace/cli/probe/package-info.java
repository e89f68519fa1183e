/**
 * {@code grace probe}: how any TCP server ends its connections, found by talking to it over plain
 * sockets and grading what reached the wire against a baseline exchange. Each check is one
 * method of {@link dev.grace.cli.probe.Probe}; {@link dev.grace.cli.probe.Exchange} reads one
 * connection to its end and tells FIN, RST and FIN-then-RST apart.
 */
package dev.grace.cli.probe;
