package dev.grace.cli;

import dev.grace.cli.probe.Check;
import dev.grace.cli.probe.Probe;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code grace probe HOST:PORT}: how a server ends its connections. One row per check, a
 * summary line; {@code --json} prints the same as JSON. Exit 0 when it ran, 1 if it could not
 * connect.
 */
@Command(name = "probe", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Check how any TCP server ends its connections: half-close, unread input, resets, idle, concurrency.",
                "Every verdict is graded against a baseline exchange and what reached the wire: a check the server never",
                "exercised (it answers nothing even normally) is INFO, and each check waits as long as the baseline took."})
final class ProbeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", converter = Values.HostPort.class, paramLabel = "HOST:PORT", description = "Server to probe.")
    InetSocketAddress target;

    @Option(names = "--request", defaultValue = "PING\\r\\n", converter = Bytes.class, paramLabel = "TEXT|@FILE",
            description = "What to send as a request; \\r \\n \\t \\\\ escapes, nothing added; @FILE sends a file (default: PING\\r\\n).")
    Payload request;

    @Option(names = "--close-request", converter = Bytes.class, paramLabel = "TEXT|@FILE",
            description = "Sent before the unread input so servers that close only on request are exercised, e.g. QUIT\\r\\n.")
    Payload closeRequest;

    @Option(names = "--json", description = "Print the checks as JSON.")
    boolean json;

    @Option(names = "--timeout", defaultValue = "5s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "Bound on each exchange (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--idle-wait", defaultValue = "5s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "How long the idle check waits for the server to close (default: ${DEFAULT-VALUE}).")
    Duration idleWait;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long start = System.nanoTime();
        List<Check> checks;
        try {
            checks = new Probe(target, request.bytes(), closeRequest == null ? null : closeRequest.bytes(), timeout, idleWait).run();
        } catch (IOException e) {
            err.println("probe: cannot connect to " + Values.format(target) + ": " + Values.systemReason(e));
            return ExitCode.IO_FAILURE;
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (json) {
            out.println(json(Values.format(target), checks));
        } else {
            for (Check check : checks) {
                out.printf("%-22s %-5s %s (%d ms)%n", check.name(), check.verdict(), check.evidence(), check.ms());
            }
            out.println(summary(checks, ms));
        }
        out.flush();
        return ExitCode.OK;
    }

    private String summary(List<Check> checks, long ms) {
        Map<Check.Verdict, Integer> counts = new EnumMap<>(Check.Verdict.class);
        for (Check.Verdict verdict : Check.Verdict.values()) {
            counts.put(verdict, 0);
        }
        checks.forEach(check -> counts.merge(check.verdict(), 1, Integer::sum));
        StringBuilder line = new StringBuilder("probe ").append(Values.format(target)).append(":");
        counts.forEach((verdict, n) -> line.append(' ').append(n).append(' ').append(verdict).append(','));
        line.setLength(line.length() - 1);
        return line.append(" in ").append(ms).append(" ms").toString();
    }

    /** {@code {"target": "...", "checks": [{"name", "verdict", "evidence", "ms"}]}} on one line. */
    static String json(String target, List<Check> checks) {
        return JsonLine.write(json -> {
            json.writeStartObject();
            json.writeStringField("target", target);
            json.writeArrayFieldStart("checks");
            for (Check check : checks) {
                json.writeStartObject();
                json.writeStringField("name", check.name());
                json.writeStringField("verdict", check.verdict().name());
                json.writeStringField("evidence", check.evidence());
                json.writeNumberField("ms", check.ms());
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeEndObject();
        });
    }

    /** Bytes to send. */
    record Payload(byte[] bytes) {}

    /** TEXT with {@code \r \n \t \\} escapes and nothing added, or {@code @FILE}'s bytes. */
    static final class Bytes implements picocli.CommandLine.ITypeConverter<Payload> {
        @Override
        public Payload convert(String value) {
            if (value.startsWith("@")) {
                return file(value.substring(1));
            }
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c == '\\' && i + 1 < value.length()) {
                    char next = value.charAt(++i);
                    switch (next) {
                        case 'r' -> text.append('\r');
                        case 'n' -> text.append('\n');
                        case 't' -> text.append('\t');
                        case '\\' -> text.append('\\');
                        default -> throw new TypeConversionException("'" + value + "' has an unknown escape \\" + next + " (use \\r \\n \\t \\\\)");
                    }
                } else {
                    text.append(c);
                }
            }
            if (text.length() == 0) {
                throw new TypeConversionException("'" + value + "' is empty");
            }
            return new Payload(text.toString().getBytes(StandardCharsets.UTF_8));
        }

        /** The file's bytes exactly: no escapes, no line-ending or charset translation. */
        private static Payload file(String name) {
            byte[] bytes;
            try {
                Path path = Path.of(name);
                if (Files.isDirectory(path)) {
                    throw new TypeConversionException("cannot read '" + name + "': a directory");
                }
                bytes = Files.readAllBytes(path);
            } catch (NoSuchFileException e) {
                throw new TypeConversionException("cannot read '" + name + "': no such file");
            } catch (AccessDeniedException e) {
                throw new TypeConversionException("cannot read '" + name + "': permission denied");
            } catch (IOException | InvalidPathException e) {
                throw new TypeConversionException("cannot read '" + name + "': " + e.getMessage());
            }
            if (bytes.length == 0) {
                throw new TypeConversionException("'" + name + "' is empty");
            }
            return new Payload(bytes);
        }
    }
}
