package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** Parsing and usage errors, in-process: every bad input is one line naming the flag and the value. */
class CommandLineTest {

    /** Exit code and what went to stdout and stderr. */
    record Run(int exitCode, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "server --bogus                 | server: Unknown option: '--bogus'",
        "server --port 70000            | server: Invalid value for option '--port': '70000' is not a port (0-65535)",
        "server --port -1               | server: Invalid value for option '--port': '-1' is not a port (0-65535)",
        "server --port abc              | server: Invalid value for option '--port': 'abc' is not a port (0-65535)",
        "server --drain-timeout banana  | server: Invalid value for option '--drain-timeout': 'banana' is not a duration (use 250ms, 30s, 2m or 1h)",
        "server --drain-delay 30        | server: Invalid value for option '--drain-delay': '30' is not a duration (use 250ms, 30s, 2m or 1h)",
        "server --protocol gopher       | server: Invalid value for option '--protocol': 'gopher' is not a protocol (echo or http)",
        "server --close-spread 1        | server: Invalid value for option '--close-spread': '1' is not a duration (use 250ms, 30s, 2m or 1h)",
        "server --idle-timeout 1.5s     | server: Invalid value for option '--idle-timeout': '1.5s' is not a duration (use 250ms, 30s, 2m or 1h)",
        "server --bind 999.1.1.1        | server: Invalid value for option '--bind': '999.1.1.1' is not an address",
        "server --admin-port 65536      | server: Invalid value for option '--admin-port': '65536' is not a port (0-65535)",
        "server --transport kqueue      | server: Invalid value for option '--transport': 'kqueue' is not a transport (auto, epoll or nio)",
        "client nohost                  | client: Invalid value for positional parameter at index 0 (HOST:PORT): 'nohost' is not HOST:PORT or [IPv6]:PORT",
        "client 127.0.0.1:99999         | client: Invalid value for positional parameter at index 0 (HOST:PORT): '127.0.0.1:99999' is not a port (0-65535)",
        "client [::1:80                 | client: Invalid value for positional parameter at index 0 (HOST:PORT): '[::1:80' is not HOST:PORT or [IPv6]:PORT",
        "client 127.0.0.1:7000 --close maybe | client: Invalid value for option '--close': expected one of [GRACEFUL, ABORT] (case-insensitive) but was 'maybe'",
        "client 127.0.0.1:7000 --timeout 0.5s | client: Invalid value for option '--timeout': '0.5s' is not a duration (use 250ms, 30s, 2m or 1h)",
        "client                         | client: Missing required parameter: 'HOST:PORT'",
        "frobnicate                     | grace: Unmatched argument at index 0: 'frobnicate'",
        "server --close-timeout 0s      | server: Invalid value for option '--close-timeout': must be more than 0",
        "client 127.0.0.1:7000 --timeout 0s | client: Invalid value for option '--timeout': must be more than 0",
        "proxy --listen 127.0.0.1:0     | proxy: Missing required option: '--to=HOST:PORT'",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --max-buffer 10 | proxy: Invalid value for option '--max-buffer': '10' must be at least 64 bytes",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --max-buffer 12q | proxy: Invalid value for option '--max-buffer': '12q' is not a size (bytes, or with k, m or g: 64k)",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --fin-timeout 0s | proxy: Invalid value for option '--fin-timeout': must be more than 0",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --upstream-source-ports 2000-1000 | proxy: Invalid value for option '--upstream-source-ports': '2000-1000' is not a port range (LOW-HIGH within 1-65535, LOW at most HIGH)",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --upstream-source-ports 0-10 | proxy: Invalid value for option '--upstream-source-ports': '0-10' is not a port range (LOW-HIGH within 1-65535, LOW at most HIGH)",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --upstream-source-ports 20000 | proxy: Invalid value for option '--upstream-source-ports': '20000' is not a port range (LOW-HIGH within 1-65535, LOW at most HIGH)",
        "bench churn --target 127.0.0.1:1 --source-ports 60000-70000 | bench: Invalid value for option '--source-ports': '60000-70000' is not a port range (LOW-HIGH within 1-65535, LOW at most HIGH)",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --upstream-release maybe | proxy: Invalid value for option '--upstream-release': expected one of [GRACEFUL, RESET] (case-insensitive) but was 'maybe'",
        "probe 127.0.0.1:7000 --timeout 0s | probe: Invalid value for option '--timeout': must be more than 0",
        "probe 127.0.0.1:7000 --request a\\q | probe: Invalid value for option '--request': 'a\\q' has an unknown escape \\q (use \\r \\n \\t \\\\)",
        "probe 127.0.0.1:7000 --request @/nonexistent | probe: Invalid value for option '--request': cannot read '/nonexistent': no such file",
        "probe 127.0.0.1:7000 --request @/ | probe: Invalid value for option '--request': cannot read '/': a directory",
        "probe 127.0.0.1:7000 --close-request @/nonexistent | probe: Invalid value for option '--close-request': cannot read '/nonexistent': no such file",
        "demo --transport kqueue        | demo: Invalid value for option '--transport': 'kqueue' is not a transport (auto, epoll or nio)",
        "bench echo --target 127.0.0.1:1 -s 0 | bench: Invalid value for option '--size': must be more than 0",
    })
    void badInputExitsTwoWithOneLineNamingFlagAndValue(String args, String message) {
        Run run = run(args.trim().split("\\s+"));

        assertThat(run.exitCode()).isEqualTo(ExitCode.USAGE);
        assertThat(run.err().strip()).isEqualTo(message);
        assertThat(run.out()).isEmpty();
    }

    @Test
    void anEmptyRequestFileIsAUsageErrorNamingTheFlagAndTheFile() throws Exception {
        Path empty = Files.createTempFile("grace-empty-", ".txt");
        try {
            Run run = run("probe", "127.0.0.1:7000", "--request", "@" + empty);

            assertThat(run.exitCode()).isEqualTo(ExitCode.USAGE);
            assertThat(run.err().strip()).isEqualTo("probe: Invalid value for option '--request': '" + empty + "' is empty");
        } finally {
            Files.delete(empty);
        }
    }

    @Test
    void noCommandExpandsAtFilesIntoArguments() throws Exception {
        Path arguments = Files.createTempFile("grace-args-", ".txt");
        try {
            Files.writeString(arguments, "127.0.0.1:7000 --close abort\n");
            Run run = run("client", "@" + arguments);

            assertThat(run.exitCode()).isEqualTo(ExitCode.USAGE);
            assertThat(run.err().strip()).isEqualTo("client: Invalid value for positional parameter at index 0 (HOST:PORT): '@"
                    + arguments + "' is not HOST:PORT or [IPv6]:PORT");
        } finally {
            Files.delete(arguments);
        }
    }

    @Test
    void portInUseExitsOneNamingTheAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Run run = run("server", "--port", String.valueOf(taken.getLocalPort()));

            assertThat(run.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
            assertThat(run.err().strip()).isEqualTo("server: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": Address already in use");
            assertThat(run.out()).isEmpty();
        }
    }

    @Test
    void adminPortInUseExitsOneNamingTheAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Run run = run("server", "--port", "0", "--admin-port", String.valueOf(taken.getLocalPort()));

            assertThat(run.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
            assertThat(run.err().strip()).startsWith("server: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": ");
        }
    }

    @Test
    void bindAddressNotOfThisMachineExitsOne() {
        Run run = run("server", "--bind", "192.0.2.1", "--port", "0");

        assertThat(run.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
        assertThat(run.err().strip()).isEqualTo("server: cannot listen on 192.0.2.1:0: Cannot assign requested address");
    }

    @ParameterizedTest
    @ValueSource(strings = {"--help", "server --help", "client --help", "proxy --help", "probe --help", "demo --help",
        "bench --help", "--version", "server --version", "client --version", "proxy --version", "probe --version"})
    void helpAndVersionWorkOnEveryCommand(String args) {
        Run run = run(args.split(" "));

        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).isNotBlank();
        assertThat(run.err()).isEmpty();
    }

    @Test
    void serverHelpListsEveryFlagOfTheContract() {
        assertThat(run("server", "--help").out()).contains("--bind", "--port", "--drain-timeout", "--drain-delay",
                "--idle-timeout", "--close-timeout", "--admin-port", "--transport", "--log", "--protocol", "--close-spread", "--handoff");
        assertThat(run("proxy", "--help").out()).contains("--handoff");
    }

    @Test
    void aHandoffPathThatCannotBeASocketIsRefusedBeforeAnythingListens() {
        Run empty = run("server", "--port", "0", "--handoff", "");
        assertThat(empty.exitCode()).isEqualTo(ExitCode.USAGE);
        assertThat(empty.err().strip()).isEqualTo("server: Invalid value for option '--handoff': '' is not a path to a socket file");

        Run noDirectory = run("server", "--port", "0", "--handoff", "/nonexistent-grace-dir/grace.handoff");
        assertThat(noDirectory.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
        assertThat(noDirectory.err().strip()).isEqualTo(
                "server: cannot serve handoffs at /nonexistent-grace-dir/grace.handoff: /nonexistent-grace-dir is not a directory");
        assertThat(noDirectory.out()).doesNotContain("listening on");

        Run directory = run("server", "--port", "0", "--handoff", "/tmp");
        assertThat(directory.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
        assertThat(directory.err().strip()).isEqualTo("server: /tmp is not a socket: refusing to replace it");

        String tooLong = "/tmp/" + "x".repeat(110);
        Run longPath = run("proxy", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--handoff", tooLong);
        assertThat(longPath.exitCode()).isEqualTo(ExitCode.IO_FAILURE);
        assertThat(longPath.err().strip()).isEqualTo("proxy: cannot serve handoffs at " + tooLong
                + ": the path is 115 bytes long, a Unix socket's at most 107");
    }

    @Test
    void clientHelpNamesEveryExitCode() {
        assertThat(run("client", "--help").out()).contains("3 on reset", "4 on timeout", "5 if the server finished first");
    }

    @ParameterizedTest
    @CsvSource({"250ms,PT0.25S", "30s,PT30S", "2m,PT2M", "1h,PT1H", "0s,PT0S"})
    void durationsAreAWholeNumberAndAUnit(String text, String expected) {
        assertThat(Values.parseDuration(text)).isEqualTo(Duration.parse(expected));
    }

    @ParameterizedTest
    @ValueSource(strings = {"30", "1.5s", "-1s", "5 s", "1d", "s", "", "PT5S"})
    void otherDurationFormsAreRefused(String text) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Values.parseDuration(text))
                .isInstanceOf(TypeConversionException.class)
                .hasMessageContaining("'" + text + "' is not a duration");
    }

    @Test
    void addressesAcceptIpv4HostnamesAndBracketedIpv6() {
        Values.HostPort hostPort = new Values.HostPort();
        assertThat(Values.format(hostPort.convert("127.0.0.1:7000"))).isEqualTo("127.0.0.1:7000");
        assertThat(Values.format(hostPort.convert("[::1]:7000"))).isEqualTo("[::1]:7000");
        assertThat(Values.format(hostPort.convert("[2001:db8:0:0:1:0:0:1]:80"))).isEqualTo("[2001:db8::1:0:0:1]:80");
        assertThat(Values.format(hostPort.convert("[::]:80"))).isEqualTo("[::]:80");
        assertThat(hostPort.convert("localhost:80").getPort()).isEqualTo(80);
    }
}
