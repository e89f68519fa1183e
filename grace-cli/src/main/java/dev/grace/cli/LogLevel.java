package dev.grace.cli;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --log}: how much goes to stderr. Outcome lines are info; the library's own peer-caused
 * events are debug. Applied to the SLF4J binding before any logger exists.
 */
enum LogLevel {
    ERROR, WARN, INFO, DEBUG;

    boolean shows(LogLevel message) {
        return message.ordinal() <= ordinal();
    }

    /** Configures slf4j-simple; must run before the first logger is created (Netty creates some early). */
    void applyToLogging() {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", toString());
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "false");
    }

    /** The level asked for on the command line ({@code --log X} or {@code --log=X}), before parsing. */
    static LogLevel findIn(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String value = null;
            if (args[i].equals("--log") && i + 1 < args.length) {
                value = args[i + 1];
            } else if (args[i].startsWith("--log=")) {
                value = args[i].substring("--log=".length());
            }
            if (value != null) {
                return parse(value).orElse(INFO); // picocli reports the bad value
            }
        }
        return INFO;
    }

    /** {@code error}, {@code warn}, {@code info} or {@code debug}, in any case. */
    static Optional<LogLevel> parse(String name) {
        return Arrays.stream(values()).filter(level -> level.name().equalsIgnoreCase(name)).findFirst();
    }

    /** As the user writes it: {@code info}. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The {@code --log} value; a bad one reads as picocli words it for every other closed choice. */
    static final class Name implements ITypeConverter<LogLevel> {
        @Override
        public LogLevel convert(String value) {
            return parse(value).orElseThrow(() -> new TypeConversionException("expected one of "
                    + Arrays.toString(Arrays.stream(values()).map(LogLevel::name).toArray()) + " (case-insensitive) but was '" + value + "'"));
        }
    }
}
