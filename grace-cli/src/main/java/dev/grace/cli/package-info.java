/**
 * The {@code grace} command: one picocli command per file ({@link dev.grace.cli.ServerCommand},
 * {@link dev.grace.cli.ClientCommand}), the parsing of durations, ports and addresses in one
 * place ({@link dev.grace.cli.Values}), the options several commands share as picocli mixins
 * ({@link dev.grace.cli.TransportOption}, {@link dev.grace.cli.LogOption}), and what the server
 * shows an operator: outcome lines, the drain summary, and the admin endpoint's metrics and
 * readiness.
 */
package dev.grace.cli;
