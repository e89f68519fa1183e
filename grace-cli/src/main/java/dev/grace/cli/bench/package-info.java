/**
 * {@code grace bench}: a load generator that verifies every byte it gets back and counts how
 * every connection ended. {@link dev.grace.cli.bench.Load} runs the load on Netty with Grace on
 * each client connection; {@link dev.grace.cli.bench.Pattern} makes the bytes checkable.
 */
package dev.grace.cli.bench;
