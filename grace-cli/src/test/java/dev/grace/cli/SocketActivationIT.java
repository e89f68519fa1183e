package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testkit.Tools;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * systemd socket activation, as systemd does it: a launcher binds and listens, puts the socket on
 * fd 3, sets LISTEN_FDS and LISTEN_PID, and execs grace (same PID), so grace inherits the socket.
 */
class SocketActivationIT {
    /** Binds 127.0.0.1:0, prints the port, puts the socket on fd 3 and execs the rest of argv. */
    private static final String LAUNCHER = String.join("\n",
            "import os, socket, sys",
            "s = socket.socket()",
            "s.bind(('127.0.0.1', 0))",
            "s.listen(128)",
            "print('inherited ' + str(s.getsockname()[1]), flush=True)",
            "if s.fileno() != 3: os.dup2(s.fileno(), 3)",
            "os.set_inheritable(3, True)",
            "env = dict(os.environ, LISTEN_FDS='1', LISTEN_PID=str(os.getpid() + int(sys.argv[1])))",
            "os.execvpe(sys.argv[2], sys.argv[2:], env)");

    /** {@code pidOffset} 0: LISTEN_PID is grace's own; anything else: another process's. */
    static GraceProcess activated(int pidOffset, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Tools.require("python3").toString(), "-c", LAUNCHER,
                String.valueOf(pidOffset), Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", GraceProcess.jar().toString()));
        command.addAll(List.of(args));
        return GraceProcess.exec(command);
    }

    static int inheritedPort(GraceProcess grace) throws InterruptedException {
        String line = grace.nextStdoutLine();
        assertThat(line).startsWith("inherited ");
        return Integer.parseInt(line.substring("inherited ".length()));
    }

    @Test
    void theServerAcceptsOnTheSocketSystemdPassedAndDrainsAsUsual() throws Exception {
        try (GraceProcess grace = activated(0, "server", "--drain-timeout", "5s")) {
            int port = inheritedPort(grace);
            InetSocketAddress address = grace.awaitListening();
            assertThat(address.getPort()).as("the plain listening line, with the inherited port").isEqualTo(port);
            try (Socket client = new Socket("127.0.0.1", port)) {
                client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                client.shutdownOutput();
                assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("hello");
            }
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
            assertThat(grace.stderr()).anyMatch(line -> line.startsWith("drained: "));
        }
    }

    /** Holds the listening socket as systemd does and restarts the service on it when told ("restart", "stop" on stdin). */
    private static final String HOLDER = String.join("\n",
            "import os, signal, socket, subprocess, sys",
            "s = socket.socket()",
            "s.bind(('127.0.0.1', 0))",
            "s.listen(4096)",
            "if s.fileno() != 3: os.dup2(s.fileno(), 3)",
            "os.set_inheritable(3, True)",
            "print('inherited ' + str(s.getsockname()[1]), flush=True)",
            "def start():",
            "    return subprocess.Popen(['sh', '-c', 'LISTEN_FDS=1 LISTEN_PID=$$ exec \"$@\"', 'sh'] + sys.argv[1:], pass_fds=(3,))",
            "children = [start()]",
            "for line in sys.stdin:",
            "    children[-1].send_signal(signal.SIGTERM)",
            "    if line.strip() == 'restart':",
            "        children.append(start())",
            "    else:",
            "        break",
            "for child in children:",
            "    child.wait()",
            "print('exits ' + ' '.join(str(c.returncode) for c in children), flush=True)");

    @Test
    void aRestartOnTheSocketSystemdHoldsRefusesNoConnect() throws Exception {
        List<String> command = List.of(Tools.require("python3").toString(), "-c", HOLDER,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", GraceProcess.jar().toString(),
                "server", "--drain-timeout", "5s");
        try (GraceProcess holder = GraceProcess.exec(command)) {
            int port = inheritedPort(holder);
            holder.awaitListening();
            java.util.concurrent.atomic.AtomicInteger served = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
            List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread loop = new Thread(() -> {
                byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; running.get() && i < 100_000; i++) {
                    try (Socket client = new Socket()) {
                        client.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
                        client.setSoTimeout(10_000);
                        client.getOutputStream().write(ping);
                        client.shutdownOutput();
                        byte[] echo = client.getInputStream().readAllBytes();
                        if (!java.util.Arrays.equals(echo, ping)) {
                            failures.add("echo " + new String(echo, StandardCharsets.US_ASCII));
                        }
                        served.incrementAndGet();
                    } catch (IOException e) {
                        failures.add(e.toString());
                    }
                }
            }, "connect-loop");
            loop.start();
            try {
                awaitServed(served, 20, failures);
                holder.process().getOutputStream().write("restart\n".getBytes(StandardCharsets.US_ASCII));
                holder.process().getOutputStream().flush();
                holder.awaitListening();   // the new process, on the same socket
                awaitServed(served, served.get() + 50, failures);
            } finally {
                running.set(false);
                loop.join(20_000);
            }
            holder.process().getOutputStream().write("stop\n".getBytes(StandardCharsets.US_ASCII));
            holder.process().getOutputStream().flush();

            assertThat(failures).as("connects refused, reset or answered wrongly across the restart").isEmpty();
            assertThat(holder.nextStdoutLine()).isEqualTo("exits 0 0");
        }
    }

    /** Fails, rather than waits for ever, when connects stop being served (a listener nobody accepts on). */
    private static void awaitServed(java.util.concurrent.atomic.AtomicInteger served, int count, List<String> failures)
            throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (served.get() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + served.get() + " of " + count + " connects served within 20 s; failures: " + failures);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void aPortThatIsNotTheInheritedOnesIsAUsageErrorNamingTheFlag() throws Exception {
        try (GraceProcess grace = activated(0, "server", "--port", "1")) {
            int port = inheritedPort(grace);
            assertThat(grace.awaitExit(20)).isEqualTo(ExitCode.USAGE);
            assertThat(grace.stderr()).contains("server: Invalid value for option '--port': '1' is not the port of the socket systemd passed (127.0.0.1:"
                    + port + ")");
        }
    }

    @Test
    void activationNeedsEpoll() throws Exception {
        try (GraceProcess grace = activated(0, "server", "--transport", "nio")) {
            inheritedPort(grace);
            assertThat(grace.awaitExit(20)).isEqualTo(ExitCode.USAGE);
            assertThat(grace.stderr()).anyMatch(line -> line.startsWith("server: Invalid value for option '--transport': 'nio'"));
        }
    }

    @Test
    void listenPidOfAnotherProcessIsIgnored() throws Exception {
        try (GraceProcess grace = activated(1, "server", "--port", "0")) {
            int port = inheritedPort(grace);
            InetSocketAddress address = grace.awaitListening();
            assertThat(address.getPort()).as("bound a port of its own").isNotEqualTo(port);
            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
        }
    }
}
