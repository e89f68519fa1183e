/**
 * JMH benchmarks of what Grace adds to every connection: the bookkeeping on each read and
 * write, and a connection's whole life from install to close report. Run by hand
 * ({@code java -jar grace-microbench/target/microbench.jar}); figures go to docs/BENCHMARKS.md.
 */
package dev.grace.microbench;
