/**
 * {@code grace bench}: a load generator that verifies every byte it gets back and counts how
 * every connection ended. {@link dev.grace.cli.bench.Load} runs the load on Netty with Grace on
 * each client connection, one {@link dev.grace.cli.bench.Exchange} per connection and mode; the
 * grading has no sockets: {@link dev.grace.cli.bench.EchoLedger} decides what is a data mismatch,
 * {@link dev.grace.cli.bench.Tally} what each ending counts as, and
 * {@link dev.grace.cli.bench.Pattern} makes the bytes checkable.
 */
package dev.grace.cli.bench;
