package dev.grace.cli.demo;

import java.util.List;
import java.util.Locale;

/** The step tables, one per scenario, as plain text. */
public final class TextReport {
    private TextReport() {}

    public static String render(List<Timeline> scenarios) {
        StringBuilder out = new StringBuilder();
        for (Timeline scenario : scenarios) {
            out.append("== ").append(scenario.title).append('\n');
            out.append(String.format(Locale.ROOT, "%9s  %-6s  %-58s  %s%n", "ms", "side", "action", "the other side observed"));
            for (Timeline.Step step : scenario.steps()) {
                String observed = step.observed == null ? "" : String.format(Locale.ROOT, "%s (%.1f ms)", step.observed, step.observedMs);
                out.append(String.format(Locale.ROOT, "%9.1f  %-6s  %-58s  %s%n",
                        step.ms, step.side.name().toLowerCase(Locale.ROOT), step.action, observed));
            }
            out.append("   ").append(scenario.lesson).append("\n\n");
        }
        return out.toString();
    }
}
