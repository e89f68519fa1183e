package dev.grace.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A tcpdump capture of one loopback port, for asserting what reached the wire (RST or not).
 * Without tcpdump, or where it may not capture (no CAP_NET_RAW), the calling test skips, or fails
 * under {@code GRACE_REQUIRE_TOOLS} (see {@link Tools}).
 *
 * <p>No sleeps: tcpdump prints each packet as it sees it ({@code -l --immediate-mode}), and the
 * capture also takes UDP datagrams to a marker port of its own. A marker sent after the traffic
 * shows up after every packet sent before it, since loopback hands packets to the capture in
 * order, so seeing the marker printed means everything before it was. {@link #capture} returns
 * once a first marker was printed (tcpdump is listening), {@link #stop} once the port went quiet
 * and a last marker was printed. Its reader threads are daemons; the rest runs on the caller's
 * thread.
 */
public final class Wire implements AutoCloseable {
    private static final Pattern FLAGS = Pattern.compile("Flags \\[([^\\]]*)\\]");
    private static final Pattern MARKER_LENGTH = Pattern.compile("UDP, length (\\d+)");
    private static final long READY_TIMEOUT_MILLIS = 10_000;
    private static final long QUIET_TIMEOUT_MILLIS = 5_000;
    private static final int START_MARKER = 1;
    private static final int STOP_MARKER = 2;

    private final int port;
    private final Process tcpdump;
    private final DatagramSocket marker;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Set<Integer> markersSeen = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Boolean> listening = new CompletableFuture<>();
    private final StringBuilder errors = new StringBuilder();

    private Wire(int port, Process tcpdump, DatagramSocket marker) {
        this.port = port;
        this.tcpdump = tcpdump;
        this.marker = marker;
        read(tcpdump.getInputStream(), this::packetPrinted, "tcpdump-stdout");
        read(tcpdump.getErrorStream(), this::diagnosticPrinted, "tcpdump-stderr");
    }

    /** Starts capturing {@code tcp port <port>} on lo and returns once tcpdump shows what it captures. */
    public static Wire capture(int port) throws IOException, InterruptedException {
        Path program = Tools.require("tcpdump");
        DatagramSocket marker = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Process process;
        try {
            // -l: a line per packet as it comes; --immediate-mode and -B: without them packets go missing (FACTS.md).
            process = new ProcessBuilder(program.toString(), "-i", "lo", "-nn", "-l", "--immediate-mode", "-B", "16384",
                    "tcp port " + port + " or (udp and dst port " + marker.getLocalPort() + ")")
                    .start();
        } catch (IOException e) {
            marker.close();
            throw e;
        }
        process.getOutputStream().close();
        Wire wire = new Wire(port, process, marker);
        String failure = wire.awaitListening();
        if (failure == null && !wire.awaitMarker(START_MARKER)) {
            failure = "shows no packets on lo within " + READY_TIMEOUT_MILLIS + " ms";
        }
        if (failure != null) {
            wire.close();
            Tools.unusable("tcpdump", failure);
        }
        return wire;
    }

    /**
     * Waits (bounded) until no connection on the port can still send anything (every socket on
     * it listening, in TIME_WAIT or gone), then until tcpdump printed everything up to now, and
     * returns what it saw.
     */
    public Packets stop() throws IOException, InterruptedException {
        awaitQuiet();
        if (!awaitMarker(STOP_MARKER)) {
            close();
            throw new AssertionError("tcpdump printed no end-of-capture marker within " + READY_TIMEOUT_MILLIS + " ms");
        }
        close();
        return new Packets(List.copyOf(lines));
    }

    @Override
    public void close() {
        if (tcpdump.isAlive()) {
            tcpdump.destroy();
            try {
                if (!tcpdump.waitFor(10, TimeUnit.SECONDS)) {
                    tcpdump.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                tcpdump.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        marker.close();
    }

    /** Null once tcpdump says it is listening; else why it is not. */
    private String awaitListening() throws InterruptedException {
        try {
            if (listening.get(READY_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                return null;
            }
        } catch (ExecutionException | TimeoutException e) {
            // Reported below.
        }
        synchronized (errors) {
            return "cannot capture here: " + errors.toString().trim();
        }
    }

    /** Sends marker datagrams of {@code length} bytes until tcpdump printed one, for at most the ready timeout. */
    private boolean awaitMarker(int length) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_TIMEOUT_MILLIS);
        DatagramPacket datagram = new DatagramPacket(new byte[length], length, marker.getLocalSocketAddress());
        while (System.nanoTime() < deadline && tcpdump.isAlive()) {
            marker.send(datagram);
            for (int i = 0; i < 10; i++) {
                if (markersSeen.contains(length)) {
                    return true;
                }
                Thread.sleep(5);
            }
        }
        return markersSeen.contains(length);
    }

    private void awaitQuiet() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(QUIET_TIMEOUT_MILLIS);
        while (!quiet() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    /** Every socket with {@link #port} at either end is LISTEN (0A), TIME_WAIT (06) or CLOSE (07) in /proc/net/tcp. */
    private boolean quiet() throws IOException {
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path path = Path.of(table);
            if (!Files.isReadable(path)) {
                continue;
            }
            for (String line : Files.readAllLines(path)) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length < 4 || !fields[1].contains(":")) {
                    continue;
                }
                boolean ours = portOf(fields[1]) == port || portOf(fields[2]) == port;
                if (ours && !List.of("0A", "06", "07").contains(fields[3])) {
                    return false;
                }
            }
        }
        return true;
    }

    private static int portOf(String address) {
        try {
            return Integer.parseInt(address.substring(address.indexOf(':') + 1), 16);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private void packetPrinted(String line) {
        if (line.contains(" UDP, ")) {
            Matcher m = MARKER_LENGTH.matcher(line);
            if (m.find()) {
                markersSeen.add(Integer.parseInt(m.group(1)));
            }
        } else {
            lines.add(line);
        }
    }

    private void diagnosticPrinted(String line) {
        if (line.contains("listening on")) {
            listening.complete(true);
        } else {
            synchronized (errors) {
                errors.append(line).append('\n');
            }
        }
    }

    private void read(InputStream stream, Consumer<String> sink, String name) {
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    sink.accept(line);
                }
            } catch (IOException e) {
                // tcpdump exited.
            }
            listening.complete(false);
        }, name);
        reader.setDaemon(true);
        reader.start();
    }

    /** tcpdump's one-line summaries of the captured packets. */
    public record Packets(List<String> lines) {
        public long resets() {
            return lines.stream().filter(l -> flags(l).contains("R")).count();
        }

        /**
         * Resets sent from {@code port}: what one side did, apart from the other's. (A peer that
         * has closed answers a late duplicate ACK with RST; that says nothing about this side.)
         */
        public long resetsFrom(int port) {
            String source = "." + port + " > ";
            return lines.stream().filter(l -> l.contains(source) && flags(l).contains("R")).count();
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
