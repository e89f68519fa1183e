package dev.grace.cli;

import picocli.CommandLine.Option;

/**
 * {@code --log error|warn|info|debug}, shared by the commands that log; each command gives its
 * own default. The level reaches the logging binding before parsing ({@link LogLevel#findIn});
 * the command reads it here to decide which of its own lines to print.
 */
final class LogOption {
    @Option(names = "--log", converter = LogLevel.Name.class, paramLabel = "error|warn|info|debug",
            description = "What goes to stderr; server and proxy print one line per connection at info (default: ${DEFAULT-VALUE}).")
    LogLevel level;

    LogOption(LogLevel defaultLevel) {
        this.level = defaultLevel;
    }

    /** Whether a line at {@code message} level is printed. */
    boolean shows(LogLevel message) {
        return level.shows(message);
    }
}
