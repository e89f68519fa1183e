package dev.grace.cli.demo;

import java.util.List;
import java.util.Locale;

/**
 * One self-contained page (no network fetches): per scenario a sequence diagram as inline SVG,
 * two lifelines with an arrow per step (data, FIN, RST) labelled with bytes and milliseconds,
 * the lesson in a sentence, and the step table.
 */
public final class HtmlReport {
    private static final int WIDTH = 900;
    private static final int CLIENT_X = 170;
    private static final int SERVER_X = 730;
    private static final int TOP = 70;
    private static final int ROW = 54;

    private HtmlReport() {}

    public static String render(List<Timeline> scenarios) {
        StringBuilder html = new StringBuilder("""
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8"><title>Grace: how TCP connections end</title>
                <style>
                body { font: 15px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #1f2328; }
                h1 { font-size: 1.6em; } h2 { margin-top: 2.2em; font-size: 1.25em; }
                .lesson { background: #f6f8fa; border-left: 4px solid #1f6feb; padding: .5em .8em; }
                table { border-collapse: collapse; width: 100%; font-size: 13px; }
                td, th { border-bottom: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
                td.ms { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
                svg text { font: 12px system-ui, sans-serif; }
                </style></head><body>
                <h1>How TCP connections end: observed on real sockets</h1>
                <p>Each scenario ran on loopback against an in-process Grace server. Every arrow and every row is
                something one side did, stamped when it happened, with what the other side observed of it.</p>
                """);
        for (Timeline scenario : scenarios) {
            html.append("<section><h2>").append(escape(scenario.title)).append("</h2>\n");
            html.append("<p class=\"lesson\">").append(escape(scenario.lesson)).append("</p>\n");
            html.append(svg(scenario)).append('\n');
            html.append(table(scenario)).append("</section>\n");
        }
        return html.append("</body></html>\n").toString();
    }

    private static String svg(Timeline scenario) {
        List<Timeline.Step> steps = scenario.steps();
        int height = TOP + ROW * steps.size() + 30;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">%n",
                WIDTH, height, WIDTH, height, escape(scenario.title)));
        svg.append("<defs>");
        for (String[] marker : new String[][] {{"data", "#24292f"}, {"fin", "#1f6feb"}, {"rst", "#d1242f"}}) {
            svg.append(String.format(Locale.ROOT, "<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
                    + "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>", marker[0], marker[1]));
        }
        svg.append("</defs>\n");
        for (int x : new int[] {CLIENT_X, SERVER_X}) {
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#8c959f\" stroke-width=\"2\"/>%n",
                    x, TOP - 20, x, height - 10));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-weight=\"bold\">client</text>", CLIENT_X));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-weight=\"bold\">server</text>%n", SERVER_X));
        int y = TOP;
        for (Timeline.Step step : steps) {
            int from = step.side == Timeline.Side.CLIENT ? CLIENT_X : SERVER_X;
            int to = step.side == Timeline.Side.CLIENT ? SERVER_X : CLIENT_X;
            if (step.arrow == Timeline.Arrow.NONE) {
                int anchorX = step.side == Timeline.Side.CLIENT ? from + 10 : from - 10;
                String anchor = step.side == Timeline.Side.CLIENT ? "start" : "end";
                svg.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#57606a\"/>", from, y));
                svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" fill=\"#57606a\">%s · %.1f ms</text>%n",
                        anchorX, y + 4, anchor, escape(step.action), step.ms));
            } else {
                String color = switch (step.arrow) {
                    case FIN -> "#1f6feb";
                    case RST -> "#d1242f";
                    default -> "#24292f";
                };
                String marker = step.arrow.name().toLowerCase(Locale.ROOT);
                String dash = step.arrow == Timeline.Arrow.FIN ? " stroke-dasharray=\"7 4\"" : "";
                int strokeWidth = step.arrow == Timeline.Arrow.RST ? 3 : 2;
                svg.append(String.format(Locale.ROOT,
                        "<line class=\"arrow %s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%d\"%s marker-end=\"url(#%s)\"/>%n",
                        marker, from, y, to, y + 18, color, strokeWidth, dash, marker));
                svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%s</text>%n",
                        (from + to) / 2, y - 4, color, escape(label(step))));
                if (step.observed != null) {
                    int textX = to == CLIENT_X ? to + 10 : to - 10;
                    String anchor = to == CLIENT_X ? "start" : "end";
                    svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" fill=\"#57606a\" font-size=\"11\">%s</text>%n",
                            textX, y + 32, anchor, escape(step.observed)));
                }
            }
            y += ROW;
        }
        return svg.append("</svg>").toString();
    }

    /** "data 1,024 B · 3.2 ms", "FIN · 5.0 ms", "RST · 301.2 ms" */
    static String label(Timeline.Step step) {
        String what = switch (step.arrow) {
            case DATA -> String.format(Locale.ROOT, "data %,d B", step.bytes);
            case FIN -> step.bytes > 0 ? String.format(Locale.ROOT, "data %,d B, FIN", step.bytes) : "FIN";
            case RST -> "RST";
            case NONE -> "";
        };
        return String.format(Locale.ROOT, "%s · %.1f ms", what, step.ms);
    }

    private static String table(Timeline scenario) {
        StringBuilder table = new StringBuilder("<table><tr><th>ms</th><th>side</th><th>action</th><th>the other side observed</th></tr>\n");
        for (Timeline.Step step : scenario.steps()) {
            table.append(String.format(Locale.ROOT, "<tr><td class=\"ms\">%.1f</td><td>%s</td><td>%s</td><td>%s</td></tr>%n",
                    step.ms, step.side.name().toLowerCase(Locale.ROOT), escape(step.action),
                    step.observed == null ? "" : escape(step.observed) + String.format(Locale.ROOT, " (%.1f ms)", step.observedMs)));
        }
        return table.append("</table>").toString();
    }

    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
