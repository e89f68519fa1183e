package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The options every command shares ({@code --transport}, {@code --log}, positive durations) and
 * every converter's bad input: each command refuses the same values with the same one line.
 */
class SharedOptionsTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "server --close-timeout 0s                             | server: Invalid value for option '--close-timeout': must be more than 0",
        "client 127.0.0.1:7000 --timeout 0ms                   | client: Invalid value for option '--timeout': must be more than 0",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --fin-timeout 0m     | proxy: Invalid value for option '--fin-timeout': must be more than 0",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --connect-timeout 0s | proxy: Invalid value for option '--connect-timeout': must be more than 0",
        "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1 --close-timeout 0h   | proxy: Invalid value for option '--close-timeout': must be more than 0",
        "probe 127.0.0.1:7000 --timeout 0s                     | probe: Invalid value for option '--timeout': must be more than 0",
        "probe 127.0.0.1:7000 --idle-wait 0ms                  | probe: Invalid value for option '--idle-wait': must be more than 0",
        "bench echo --target 127.0.0.1:1 -d 0s                 | bench: Invalid value for option '--duration': must be more than 0",
        "bench echo --target 127.0.0.1:1 --duration 10         | bench: Invalid value for option '--duration': '10' is not a duration (use 250ms, 30s, 2m or 1h)",
        "probe 127.0.0.1:7000 --idle-wait 5sec                 | probe: Invalid value for option '--idle-wait': '5sec' is not a duration (use 250ms, 30s, 2m or 1h)",
    })
    void everyPositiveDurationRefusesZeroAndOtherForms(String args, String message) {
        assertUsageError(args, message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"server", "client 127.0.0.1:7000", "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1",
        "bench echo --target 127.0.0.1:1", "demo"})
    void everyCommandOnNettyRefusesAnUnknownTransportAlike(String command) {
        String name = command.split(" ")[0];
        assertUsageError(command + " --transport kqueue",
                name + ": Invalid value for option '--transport': 'kqueue' is not a transport (auto, epoll or nio)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"server", "client 127.0.0.1:7000", "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1"})
    void everyCommandThatLogsRefusesAnUnknownLevelAlike(String command) {
        String name = command.split(" ")[0];
        assertUsageError(command + " --log loud",
                name + ": Invalid value for option '--log': expected one of [ERROR, WARN, INFO, DEBUG] (case-insensitive) but was 'loud'");
        assertUsageError(command + " --log=",
                name + ": Invalid value for option '--log': expected one of [ERROR, WARN, INFO, DEBUG] (case-insensitive) but was ''");
    }

    @Test
    void eachCommandShowsItsOwnLogDefault() {
        assertThat(CommandLineTest.run("server", "--help").out()).containsPattern("--log=error\\|warn\\|info\\|debug\\s+What goes to stderr[^(]*\\(default:\\s+info\\)");
        assertThat(CommandLineTest.run("proxy", "--help").out()).containsPattern("\\(default:\\s+info\\)\\.\\s+--max-buffer");
        assertThat(CommandLineTest.run("client", "--help").out()).containsPattern("--log=error\\|warn\\|info\\|debug\\s+What goes to stderr[^(]*\\(default:\\s+warn\\)");
    }

    @Test
    void theLevelAppliedBeforeParsingIsTheOneTheParserReads() {
        assertThat(LogLevel.findIn(new String[] {"server", "--log", "DEBUG"})).isEqualTo(LogLevel.DEBUG);
        assertThat(LogLevel.findIn(new String[] {"server", "--log=warn"})).isEqualTo(LogLevel.WARN);
        assertThat(LogLevel.findIn(new String[] {"server", "--log", "loud"})).as("picocli reports it").isEqualTo(LogLevel.INFO);
        assertThat(LogLevel.findIn(new String[] {"server"})).isEqualTo(LogLevel.INFO);
        assertThat(new LogLevel.Name().convert("Debug")).isEqualTo(LogLevel.DEBUG);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "0s    | must be more than 0",
        "0ms   | must be more than 0",
        "30    | '30' is not a duration (use 250ms, 30s, 2m or 1h)",
        "-5s   | '-5s' is not a duration (use 250ms, 30s, 2m or 1h)",
        "off   | 'off' is not a duration (use 250ms, 30s, 2m or 1h)",
    })
    void positiveDurationRefuses(String value, String message) {
        assertRefused(new Values.PositiveDuration(), value, message);
    }

    @Test
    void positiveDurationAcceptsWhatDurationsAccept() {
        assertThat(new Values.PositiveDuration().convert("1ms")).isEqualTo(Duration.ofMillis(1));
        assertThat(new Values.PositiveDuration().convert("2m")).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void everyOtherConverterRefusesItsBadInputInOneLine() {
        assertRefused(new Values.DurationValue(), "1.5s", "'1.5s' is not a duration (use 250ms, 30s, 2m or 1h)");
        assertRefused(new Values.DurationOrOff(), "never", "'never' is not a duration (use 250ms, 30s, 2m or 1h)");
        assertRefused(new Values.DurationOrOff(), "OFF", "'OFF' is not a duration (use 250ms, 30s, 2m or 1h)");
        assertRefused(new Values.Port(), "65536", "'65536' is not a port (0-65535)");
        assertRefused(new Values.Port(), "", "'' is not a port (0-65535)");
        assertRefused(new Values.PortRange(), "5-", "'5-' is not a port range (LOW-HIGH within 1-65535, LOW at most HIGH)");
        assertRefused(new Values.BindAddress(), "no such host.invalid", "'no such host.invalid' is not an address");
        assertRefused(new Values.HostPort(), "127.0.0.1", "'127.0.0.1' is not HOST:PORT or [IPv6]:PORT");
        assertRefused(new Values.HostPort(), "127.0.0.1:-1", "'127.0.0.1:-1' is not a port (0-65535)");
        assertRefused(new Values.Size(), "3g", "'3g' is not a size (bytes, or with k, m or g: 64k)");
        assertRefused(new Values.Size(), "64kb", "'64kb' is not a size (bytes, or with k, m or g: 64k)");
        assertRefused(new Values.TransportName(), "", "'' is not a transport (auto, epoll or nio)");
        assertRefused(new LogLevel.Name(), "verbose", "expected one of [ERROR, WARN, INFO, DEBUG] (case-insensitive) but was 'verbose'");
        assertRefused(new ProbeCommand.Bytes(), "", "'' is empty");
        assertRefused(new ProbeCommand.Bytes(), "GET\\x", "'GET\\x' has an unknown escape \\x (use \\r \\n \\t \\\\)");
    }

    @Test
    void transportNamesAreCaseInsensitiveAndKeptLowerCase() {
        assertThat(new Values.TransportName().convert("NIO")).isEqualTo("nio");
        assertThat(new Values.TransportName().convert("Auto")).isEqualTo("auto");
    }

    private static void assertRefused(ITypeConverter<?> converter, String value, String message) {
        assertThatThrownBy(() -> converter.convert(value)).isInstanceOf(TypeConversionException.class).hasMessage(message);
    }

    private static void assertUsageError(String args, String message) {
        CommandLineTest.Run run = CommandLineTest.run(args.trim().split("\\s+"));

        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCode.USAGE);
        assertThat(run.err().strip()).isEqualTo(message);
        assertThat(run.out()).isEmpty();
    }
}
