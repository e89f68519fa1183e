package dev.grace.testkit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The programs some tests need (tcpdump, ss, nc, redis, nginx, socat, curl, chromium, python3).
 * Locally a missing one skips the test, naming it; with {@code GRACE_REQUIRE_TOOLS=1} in the
 * environment (CI sets it) it fails the test instead, naming the program and its Debian
 * package, so a run cannot go green without the wire. Called from the test's own thread.
 */
public final class Tools {
    /** The environment variable that turns a skip into a failure. */
    public static final String REQUIRE = "GRACE_REQUIRE_TOOLS";

    /** Where a program comes from on Debian, for the failure's message; .ci/run installs the same packages. */
    private static final Map<String, String> PACKAGES = Map.ofEntries(
            Map.entry("tcpdump", "tcpdump"),
            Map.entry("ss", "iproute2"),
            Map.entry("nc", "netcat-openbsd"),
            Map.entry("redis-server", "redis-server"),
            Map.entry("redis-cli", "redis-tools"),
            Map.entry("redis-benchmark", "redis-tools"),
            Map.entry("nginx", "nginx"),
            Map.entry("socat", "socat"),
            Map.entry("curl", "curl"),
            Map.entry("wrk", "wrk"),
            Map.entry("h2load", "nghttp2-client"),
            Map.entry("chromium", "chromium"),
            Map.entry("python3", "python3"));

    private Tools() {}

    /** True when {@code GRACE_REQUIRE_TOOLS} is set to anything but empty, 0 or false. */
    public static boolean required() {
        String value = System.getenv(REQUIRE);
        return value != null && !value.isBlank() && !value.equals("0") && !value.equalsIgnoreCase("false");
    }

    /** Where {@code program} is, or null: on PATH, then in /usr/sbin, /usr/bin and /bin. */
    public static Path find(String program) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/usr/bin", "/bin"));
        for (String dir : dirs) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** Each program's path; skips the test (or fails it, under {@code GRACE_REQUIRE_TOOLS}) if any is missing. */
    public static Path require(String program) {
        Path path = find(program);
        if (path == null) {
            unusable(program, "is not installed");
        }
        return path;
    }

    /** Requires every one of {@code programs}. */
    public static void requireAll(String... programs) {
        for (String program : programs) {
            require(program);
        }
    }

    /**
     * {@code program} is there but cannot do its job here (tcpdump without CAP_NET_RAW, say):
     * skips the test, or fails it under {@code GRACE_REQUIRE_TOOLS}, with {@code why}.
     */
    public static void unusable(String program, String why) {
        String message = program + " " + why;
        if (required()) {
            throw new AssertionError(message + " (package " + PACKAGES.getOrDefault(program, program) + "), and "
                    + REQUIRE + " is set: this run needs it");
        }
        assumeTrue(false, message);
    }
}
