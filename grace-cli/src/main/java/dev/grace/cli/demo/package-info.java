/**
 * {@code grace demo}: the socket-shutdown scenarios of the classic literature, run on real
 * loopback sockets against an in-process Grace server, one scenario per class, listed in order
 * by {@link dev.grace.cli.demo.Scenarios}. A {@link dev.grace.cli.demo.Timeline} records what
 * each side did and what the other side observed, as it happened;
 * {@link dev.grace.cli.demo.Observations} words those facts without touching a socket, and
 * {@link dev.grace.cli.demo.TextReport} and {@link dev.grace.cli.demo.HtmlReport} only render them.
 */
package dev.grace.cli.demo;
