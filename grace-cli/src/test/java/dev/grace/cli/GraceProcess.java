package dev.grace.cli;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code grace} running as a real process from the built jar: its stdout lines, its stderr lines,
 * signals sent to its PID, and its open file descriptors. Ended by PID in {@link #close()}.
 */
final class GraceProcess implements AutoCloseable {
    private final Process process;
    private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final List<Thread> pipes = new ArrayList<>();

    private GraceProcess(Process process) {
        this.process = process;
        pipe(new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), stdout::add, "stdout");
        pipe(new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)), stderr::add, "stderr");
    }

    static Path jar() {
        Path jar = Path.of(System.getProperty("grace.jar", "target/grace.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("no " + jar + ": run the tests with 'mvn verify', which builds it first");
        }
        return jar;
    }

    /** {@code java [jvmOptions] -jar grace.jar args...}, stdin from {@code stdin} or a pipe when null. */
    static GraceProcess start(List<String> jvmOptions, File stdin, File stdoutFile, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(jar().toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        if (stdin != null) {
            builder.redirectInput(stdin);
        }
        if (stdoutFile != null) {
            builder.redirectOutput(stdoutFile);
        }
        return new GraceProcess(builder.start());
    }

    static GraceProcess start(String... args) throws IOException {
        return start(List.of(), null, null, args);
    }

    /** Any command (the launcher), same plumbing. */
    static GraceProcess exec(List<String> command) throws IOException {
        return new GraceProcess(new ProcessBuilder(command).start());
    }

    private void pipe(BufferedReader reader, java.util.function.Consumer<String> sink, String name) {
        Thread thread = new Thread(() -> {
            try (reader) {
                for (String line; (line = reader.readLine()) != null; ) {
                    sink.accept(line);
                }
            } catch (IOException e) {
                // The process ended.
            }
        }, "grace-" + name);
        thread.setDaemon(true);
        thread.start();
        pipes.add(thread);
    }

    /** The next stdout line, waiting up to 30 s (the first run of a JVM can be slow). */
    String nextStdoutLine() throws InterruptedException {
        String line = stdout.poll(30, TimeUnit.SECONDS);
        if (line == null) {
            throw new AssertionError("no stdout line within 30 s; stderr: " + stderr);
        }
        return line;
    }

    /** The next stdout line already printed, or null when there is none. */
    String nextStdoutLineOrNull() throws InterruptedException {
        return stdout.poll(100, TimeUnit.MILLISECONDS);
    }

    /** Reads the {@code listening on HOST:PORT} line and returns that address. */
    InetSocketAddress awaitListening() throws InterruptedException {
        return awaitAddressLine("listening on ");
    }

    static final String FROM_HANDOFF = " (from handoff)";

    /** Reads a {@code PREFIX HOST:PORT} line, with or without {@link #FROM_HANDOFF}, and returns the address. */
    InetSocketAddress awaitAddressLine(String prefix) throws InterruptedException {
        String line = nextStdoutLine();
        if (!line.startsWith(prefix)) {
            throw new AssertionError("expected '" + prefix + "HOST:PORT', got '" + line + "'; stderr: " + stderr);
        }
        String address = line.substring(prefix.length());
        if (address.endsWith(FROM_HANDOFF)) {
            address = address.substring(0, address.length() - FROM_HANDOFF.length());
        }
        int colon = address.lastIndexOf(':');
        return new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
    }

    void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-s", name, String.valueOf(process.pid())).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -s " + name + " " + process.pid() + " failed");
        }
    }

    /** Waits for the exit code. */
    int awaitExit(long timeoutSeconds) throws InterruptedException {
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            throw new AssertionError("grace did not exit within " + timeoutSeconds + " s; stderr: " + stderr);
        }
        for (Thread pipe : pipes) {
            pipe.join(5_000);
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    List<String> stderr() {
        return stderr;
    }

    /** Waits until some stderr line starts with {@code prefix}, and returns it. */
    String awaitStderr(String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (String line : stderr) {
                if (line.startsWith(prefix)) {
                    return line;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no stderr line starting '" + prefix + "' within 30 s; stderr: " + stderr);
    }

    /** The process's open file descriptors, from /proc. */
    long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(process.pid()), "fd"))) {
            return fds.count();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
