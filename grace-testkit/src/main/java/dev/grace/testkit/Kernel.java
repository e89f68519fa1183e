package dev.grace.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** What the kernel says about sockets, asked through {@code ss} (iproute2); skips without it, see {@link Tools}. */
public final class Kernel {
    private Kernel() {}

    /** Sockets in TIME_WAIT with {@code port} at either end. */
    public static List<String> timeWait(int port) throws IOException, InterruptedException {
        return ss("state", "time-wait", "( sport = :" + port + " or dport = :" + port + " )");
    }

    /** Sockets in TIME_WAIT whose local end is {@code port}. */
    public static List<String> timeWaitFrom(int port) throws IOException, InterruptedException {
        return ss("state", "time-wait", "( sport = :" + port + " )");
    }

    private static List<String> ss(String... filter) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Tools.require("ss").toString(), "-tanH"));
        command.addAll(List.of(filter));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        process.getOutputStream().close();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                if (!line.isBlank()) {
                    lines.add(line.trim());
                }
            }
        }
        if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("ss failed: " + command);
        }
        return lines;
    }
}
