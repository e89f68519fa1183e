package dev.grace.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code grace}: the entry point. Parses, runs one subcommand, exits with its code. */
@Command(
        name = "grace",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Ends TCP connections correctly: half-close, graceful close, abort and drain, on real sockets.",
        subcommands = {ServerCommand.class, ClientCommand.class, ProxyCommand.class, ProbeCommand.class, DemoCommand.class, BenchCommand.class})
public final class Main implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: server, client, proxy, probe, demo or bench (see grace --help)");
    }

    public static void main(String[] args) {
        LogLevel.findIn(args).applyToLogging();
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = commandLine(out, err).execute(args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** The whole command tree, writing to {@code out} and {@code err}; tests run it in-process. */
    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        // @FILE is a value some flags read byte for byte (probe --request), never words for the parser.
        cli.setExpandAtFiles(false);
        cli.registerConverter(Duration.class, new Values.DurationValue());
        cli.setParameterExceptionHandler((failure, args) -> {
            failure.getCommandLine().getErr().println(failure.getCommandLine().getCommandName() + ": " + failure.getMessage());
            return ExitCode.USAGE;
        });
        cli.setExecutionExceptionHandler((failure, commandLine, parsed) -> {
            commandLine.getErr().println(commandLine.getCommandName() + ": " + failure);
            return ExitCode.IO_FAILURE;
        });
        return cli;
    }

    /** The version the build stamped into the jar. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            Properties properties = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/grace-version.properties")) {
                if (in != null) {
                    properties.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new String[] {"grace " + properties.getProperty("version", "unknown")};
        }
    }
}
