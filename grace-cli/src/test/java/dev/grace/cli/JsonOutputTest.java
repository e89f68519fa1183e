package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Transport;
import dev.grace.cli.bench.Load;
import dev.grace.cli.probe.Check;
import dev.grace.cli.probe.Check.Verdict;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/**
 * The {@code --json} lines of probe and bench, without sockets: the spacing, field order and
 * number formats the bench scripts' sed expressions depend on, and escaping.
 */
class JsonOutputTest {
    private static final InetSocketAddress TARGET = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7000);

    @Test
    void oneLineWithASpaceAfterEveryColonAndComma() {
        String line = JsonLine.write(json -> {
            json.writeStartObject();
            json.writeNumberField("a", 1);
            json.writeArrayFieldStart("b");
            json.writeNumber(1);
            json.writeNumber(2);
            json.writeEndArray();
            json.writeObjectFieldStart("c");
            json.writeNullField("d");
            json.writeEndObject();
            json.writeEndObject();
        });

        assertThat(line).isEqualTo("{\"a\": 1, \"b\": [1, 2], \"c\": {\"d\": null}}");
    }

    @Test
    void decimalsPrintAsPercentFWouldHaveRoundedThem() {
        Random random = new Random(11);
        double[] awkward = {0, 0.05, 0.15, 1.15, 2.675, 1535.75, 0.0004999, 0.0005, 99.95, 1e-9, 123456789.123456};
        for (int i = 0; i < 20_000 + awkward.length; i++) {
            double value = i < awkward.length ? awkward[i] : random.nextDouble() * Math.pow(10, random.nextInt(9));
            for (int places = 0; places <= 3; places++) {
                assertThat(JsonLine.decimals(value, places).toPlainString()).as("%s to %d places", value, places)
                        .isEqualTo(String.format(Locale.ROOT, "%." + places + "f", value));
            }
        }
    }

    @Test
    void textIsEscapedAsJsonStrings() {
        String line = JsonLine.write(json -> {
            json.writeStartObject();
            json.writeStringField("evidence", "6 bytes (\"PING\") then FIN\\RST\r\n\ttab é");
            json.writeEndObject();
        });

        assertThat(line).isEqualTo("{\"evidence\": \"6 bytes (\\\"PING\\\") then FIN\\\\RST\\r\\n\\ttab é\"}");
    }

    @Test
    void benchJsonKeepsItsFieldsInOrderWithTheirDecimals() {
        assertThat(BenchSummary.json(result(null))).isEqualTo("{\"mode\": \"echo\", \"target\": \"127.0.0.1:7000\", \"connections\": 4, "
                + "\"size\": 64, \"seconds\": 2.000, \"operations\": 3001, \"rate\": 1500.5, \"bytes\": 192064, "
                + "\"latency_us\": {\"p50\": 1.3, \"p99\": 2.0, \"p999\": 2.0, \"max\": 2.0}, "
                + "\"clean\": 4, \"reset\": 1, \"timeout\": 0, \"mismatch\": null}");
        assertThat(BenchSummary.json(result("data mismatch on connection 2 at byte 100"))).endsWith(
                "\"mismatch\": \"data mismatch on connection 2 at byte 100\"}");
    }

    @Test
    void benchScriptsReadTheirFiguresOutOfTheJson() {
        String clean = BenchSummary.json(result(null));
        String lost = BenchSummary.json(result("data mismatch on connection 2 at byte 100"));

        // bench/run.sh
        assertThat(groups(".*\"rate\": ([0-9.]*).*", clean)).containsExactly("1500.5");
        // bench/churn-stall.sh
        assertThat(groups(".*\"rate\": ([0-9.]*), .*\"clean\": ([0-9]*), \"reset\": ([0-9]*), .*\"mismatch\": (.*)}$", clean))
                .containsExactly("1500.5", "4", "1", "null");
        // bench/proxies.sh
        String proxies = ".*\"seconds\": ([0-9.]*), \"operations\": [0-9]*, \"rate\": ([0-9.]*), \"bytes\": ([0-9]*).*\"mismatch\": null}$";
        assertThat(groups(proxies, clean)).containsExactly("2.000", "1500.5", "192064");
        assertThat(groups(proxies, lost)).isEmpty();
        assertThat(lost).matches(".*\"mismatch\": \"[^\"]*\"}$");
    }

    @Test
    void probeJsonCarriesEveryCheckInOrder() {
        List<Check> checks = List.of(
                new Check("baseline", Verdict.INFO, "the request sent normally: 6 bytes (\"PING\") then FIN", 12),
                new Check("idle", Verdict.WARN, "closed an idle connection with RST after 5 ms", 5003));

        assertThat(ProbeCommand.json("[::1]:7000", checks)).isEqualTo("{\"target\": \"[::1]:7000\", \"checks\": ["
                + "{\"name\": \"baseline\", \"verdict\": \"INFO\", \"evidence\": \"the request sent normally: 6 bytes (\\\"PING\\\") then FIN\", \"ms\": 12}, "
                + "{\"name\": \"idle\", \"verdict\": \"WARN\", \"evidence\": \"closed an idle connection with RST after 5 ms\", \"ms\": 5003}]}");
    }

    private static Load.Result result(String mismatch) {
        Histogram latency = new Histogram(3);
        // Below 2048 ns a three-digit histogram is exact, so the percentiles are these values.
        latency.recordValueWithCount(1_250, 2000);
        latency.recordValueWithCount(2_000, 1000);
        latency.recordValue(2_047);
        Load.Settings settings = new Load.Settings(Load.Mode.ECHO, TARGET, 4, 64, Duration.ofSeconds(2), Transport.NIO, null);
        return new Load.Result(settings, 2.0, 3001, 192_064, latency, 4, 1, 0, mismatch);
    }

    private static List<String> groups(String regex, String text) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.matches()) {
            return List.of();
        }
        String[] found = new String[m.groupCount()];
        for (int i = 0; i < found.length; i++) {
            found[i] = m.group(i + 1);
        }
        return List.of(found);
    }
}
