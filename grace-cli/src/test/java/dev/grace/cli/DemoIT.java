package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testkit.Tools;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** {@code grace demo} as a real process, and its page in a real (headless) browser. */
class DemoIT {
    private static final List<String> SCENARIOS = List.of(
            "Client-initiated graceful shutdown", "Close with unread input", "Abort with SO_LINGER 0",
            "Linger close with a peer that stopped reading", "Server drain with an idle and a busy connection");

    @Test
    void printsOneStepTablePerScenarioFromWhatTheSocketsSaw() throws Exception {
        Path html = Files.createTempFile("grace-demo-", ".html");
        try (GraceProcess demo = GraceProcess.start("demo", "--html", html.toString())) {
            List<String> out = new ArrayList<>();
            assertThat(demo.awaitExit(60)).as("stderr: %s", demo.stderr()).isZero();
            for (String line; (line = pollLine(demo)) != null; ) {
                out.add(line);
            }
            String text = String.join("\n", out);
            for (String scenario : SCENARIOS) {
                assertThat(text).contains("== " + scenario);
            }
            assertThat(text).contains("read() returned EOF")
                    .contains("upload failed:")
                    .contains("read failed: Connection reset")
                    .contains("closed: FIN_BOTH_WAYS")
                    .contains("closed: ABORTED_AT_DEADLINE")
                    .contains("listener closed: new connects are refused")
                    .as("the drained busy client gets its whole echo, then the FIN")
                    .contains("busy client: read the rest of the echo (4,194,304 B in all), then EOF");
            // Self-contained: nothing to fetch (the SVG namespace URI is a name, not a fetch).
            assertThat(Files.readString(html)).doesNotContainPattern("(src|href)\\s*=\\s*\"?https?:")
                    .doesNotContain("@import", "url(http").contains("<svg");
        } finally {
            Files.deleteIfExists(html);
        }
    }

    private static String pollLine(GraceProcess process) {
        try {
            return process.nextStdoutLineOrNull();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static List<String> chromium(Path profile, String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.require("chromium").toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--user-data-dir=" + profile));
        command.addAll(List.of(args));
        return command;
    }

    private static String run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        process.getOutputStream().close();
        byte[] out;
        try (InputStream in = process.getInputStream()) {
            out = in.readAllBytes();
        }
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(command + " did not finish in 60 s");
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    @Test
    void thePageRendersOneSequenceDiagramPerScenarioInARealBrowser() throws Exception {
        Tools.require("chromium");
        Path dir = Files.createTempDirectory("grace-demo-browser-");
        Path html = dir.resolve("demo.html");
        try (GraceProcess demo = GraceProcess.start("demo", "--html", html.toString())) {
            assertThat(demo.awaitExit(60)).isZero();
        }
        String dom = run(chromium(dir.resolve("profile-dom"), "--dump-dom", html.toUri().toString()));
        Matcher svgs = Pattern.compile("<svg\\b").matcher(dom);
        int count = 0;
        while (svgs.find()) {
            count++;
        }
        assertThat(count).as("one rendered <svg> per scenario").isEqualTo(SCENARIOS.size());
        assertThat(dom).contains("FIN · ").contains("RST · ").contains("data ").contains("class=\"arrow rst\"");

        Path png = dir.resolve("demo.png");
        run(chromium(dir.resolve("profile-shot"), "--screenshot=" + png, "--window-size=1000,1800", html.toUri().toString()));
        assertThat(png).exists();
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).isNotNull();
        assertThat(distinctColours(image)).as("a blank screenshot has one colour").isGreaterThan(8);
        deleteRecursively(dir);
    }

    private static int distinctColours(BufferedImage image) {
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 7) {
            for (int x = 0; x < image.getWidth(); x += 7) {
                colours.add(image.getRGB(x, y));
                if (colours.size() > 100) {
                    return colours.size();
                }
            }
        }
        return colours.size();
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }
}
