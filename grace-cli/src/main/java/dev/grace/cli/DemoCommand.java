package dev.grace.cli;

import dev.grace.cli.demo.HtmlReport;
import dev.grace.cli.demo.Scenarios;
import dev.grace.cli.demo.TextReport;
import dev.grace.cli.demo.Timeline;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code grace demo [--html FILE]}: the shutdown scenarios on loopback, each as a step table. */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Run the classic shutdown scenarios on real loopback sockets and show what each side did and saw.",
                "Graceful sequence, close with unread input, abort, linger close, server drain."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--html", paramLabel = "FILE", description = "Also write a self-contained page with one sequence diagram per scenario.")
    Path html;

    @Mixin
    TransportOption transport;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Timeline> scenarios = Scenarios.runAll(transport.chosen());
        out.print(TextReport.render(scenarios));
        if (html != null) {
            try {
                Files.writeString(html, HtmlReport.render(scenarios), StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.println("demo: cannot write " + html + ": " + e.getMessage());
                return ExitCode.IO_FAILURE;
            }
            out.println("wrote " + html);
        }
        out.flush();
        return ExitCode.OK;
    }
}
