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
    private static GraceProcess activated(int pidOffset, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Tools.require("python3").toString(), "-c", LAUNCHER,
                String.valueOf(pidOffset), Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", GraceProcess.jar().toString()));
        command.addAll(List.of(args));
        return GraceProcess.exec(command);
    }

    private static int inheritedPort(GraceProcess grace) throws InterruptedException {
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
