package dev.grace.cli;

import java.util.Locale;

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
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", name().toLowerCase(Locale.ROOT));
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
                try {
                    return valueOf(value.toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    return INFO; // picocli reports the bad value
                }
            }
        }
        return INFO;
    }
}
