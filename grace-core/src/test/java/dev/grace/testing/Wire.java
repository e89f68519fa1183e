package dev.grace.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tcpdump capture of one loopback port, for asserting what reached the wire (RST or not).
 * Skips the calling test when tcpdump is missing or may not capture (no CAP_NET_RAW).
 */
public final class Wire implements AutoCloseable {
    private static final Pattern FLAGS = Pattern.compile("Flags \\[([^\\]]*)\\]");
    /** tcpdump buffers a little even with --immediate-mode; FACTS.md: wait ≥ 1 s before stopping. */
    private static final long FLUSH_MILLIS = 1_000;

    private final Process tcpdump;
    private final Path file;

    private Wire(Process tcpdump, Path file) {
        this.tcpdump = tcpdump;
        this.file = file;
    }

    /** Starts capturing {@code tcp port <port>} on lo and returns once tcpdump is listening. */
    public static Wire capture(int port) throws IOException, InterruptedException {
        assumeTrue(onPath("tcpdump"), "tcpdump is not installed");
        Path file = Files.createTempFile("grace-" + port + "-", ".pcap");
        Process process = new ProcessBuilder("tcpdump", "-i", "lo", "-nn", "-U", "--immediate-mode",
                "-B", "16384", "-w", file.toString(), "tcp port " + port)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        process.getOutputStream().close();
        CompletableFuture<Boolean> listening = new CompletableFuture<>();
        StringBuilder errors = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (BufferedReader stderr = new BufferedReader(
                    new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = stderr.readLine()) != null; ) {
                    if (line.contains("listening on")) {
                        listening.complete(true);
                    } else {
                        errors.append(line).append('\n');
                    }
                }
            } catch (IOException e) {
                // tcpdump exited.
            }
            listening.complete(false);
        }, "tcpdump-stderr");
        reader.setDaemon(true);
        reader.start();
        boolean started;
        try {
            started = listening.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            started = false;
        }
        if (!started) {
            process.destroyForcibly().waitFor();
            Files.deleteIfExists(file);
            assumeTrue(false, "tcpdump cannot capture here: " + errors.toString().trim());
        }
        return new Wire(process, file);
    }

    /** Stops the capture and returns what it saw. */
    public Packets stop() throws IOException, InterruptedException {
        Thread.sleep(FLUSH_MILLIS);
        tcpdump.destroy();
        if (!tcpdump.waitFor(10, TimeUnit.SECONDS)) {
            tcpdump.destroyForcibly().waitFor();
        }
        Process read = new ProcessBuilder("tcpdump", "-r", file.toString(), "-nn")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        read.getOutputStream().close();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(read.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                lines.add(line);
            }
        }
        read.waitFor(10, TimeUnit.SECONDS);
        Files.deleteIfExists(file);
        return new Packets(lines);
    }

    @Override
    public void close() throws IOException {
        if (tcpdump.isAlive()) {
            tcpdump.destroyForcibly();
        }
        Files.deleteIfExists(file);
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", command)) || Files.isExecutable(Path.of("/usr/bin", command));
    }

    /** tcpdump's one-line summaries of the captured packets. */
    public record Packets(List<String> lines) {
        public long resets() {
            return lines.stream().filter(l -> flags(l).contains("R")).count();
        }

        public long fins() {
            return lines.stream().filter(l -> flags(l).contains("F")).count();
        }

        private static String flags(String line) {
            Matcher m = FLAGS.matcher(line);
            return m.find() ? m.group(1) : "";
        }

        @Override
        public String toString() {
            return String.join("\n", lines);
        }
    }
}
