package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code grace server --protocol http} with real clients: curl (HTTP/1.1, HTTP/2 by prior
 * knowledge and by Upgrade: h2c), wrk and h2load through a SIGTERM, and a WebSocket client.
 */
class HttpInteropIT {
    private static final Pattern WRK_LINE = Pattern.compile(
            "WRK requests=(\\d+) read=(\\d+) timeout=(\\d+) non2xx=(\\d+) closes=(\\d+) write=(\\d+) connect=(\\d+)");
    private static final Pattern H2LOAD_LINE = Pattern.compile(
            "requests: (\\d+) total, \\d+ started, \\d+ done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored, (\\d+) timeout");
    /** The wrk script bench/http-drain.sh uses too. */
    private static final Path COUNTING_SCRIPT = Path.of("..", "bench", "count-responses.lua").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    private static GraceProcess httpServer(String drainTimeout) throws IOException {
        return GraceProcess.start("server", "--protocol", "http", "--port", "0", "--drain-timeout", drainTimeout);
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = process.getInputStream().readAllBytes();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command).isTrue();
        return new String(out, StandardCharsets.UTF_8);
    }

    private static String url(InetSocketAddress address, String path) {
        return "http://127.0.0.1:" + address.getPort() + path;
    }

    @Test
    void curlSpeaksHttp11AndHttp2ByPriorKnowledgeAndByUpgradeOnOnePort() throws Exception {
        String curl = Tools.require("curl").toString();
        Path upload = dir.resolve("upload.bin");
        byte[] bytes = new byte[1024 * 1024 + 17];
        new Random(7).nextBytes(bytes);
        Files.write(upload, bytes);
        try (GraceProcess grace = httpServer("5s")) {
            InetSocketAddress address = grace.awaitListening();
            String format = "%{http_version} %{http_code}";
            assertThat(run(List.of(curl, "-s", "-w", " " + format, url(address, "/")))).isEqualTo("ok\n 1.1 200");
            assertThat(run(List.of(curl, "-s", "--http2-prior-knowledge", "-w", " " + format, url(address, "/delay/50"))))
                    .isEqualTo("ok\n 2 200");
            assertThat(run(List.of(curl, "-s", "--http2", "-w", " " + format, url(address, "/")))).isEqualTo("ok\n 2 200");
            assertThat(run(List.of(curl, "-s", "-o", "/dev/null", "-w", "%{size_download}", url(address, "/bytes/300000"))))
                    .isEqualTo("300000");
            for (String version : new String[] {"--http1.1", "--http2-prior-knowledge"}) {
                Path echoed = dir.resolve("echoed" + version);
                run(List.of(curl, "-s", version, "-o", echoed.toString(), "--data-binary", "@" + upload, url(address, "/echo")));
                assertThat(Files.readAllBytes(echoed)).as("POST /echo over %s", version).isEqualTo(bytes);
            }
            assertThat(run(List.of(curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", url(address, "/"))))
                    .isEqualTo("405");
            assertThat(run(List.of(curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", url(address, "/no/such/path"))))
                    .isEqualTo("404");
            assertThat(run(List.of(curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "GET", "-H", "Expect:",
                    "--data-binary", "@" + upload, url(address, "/")))).as("a body over 1 MiB where none is streamed").isEqualTo("413");

            grace.signal("TERM");
            assertThat(grace.awaitExit(20)).isZero();
            assertThat(grace.stderr()).anyMatch(line -> line.matches("closed peer=\\S+ outcome=FIN_BOTH_WAYS .* requests=1"));
            assertThat(grace.stderr()).anyMatch(line -> line.startsWith("drained: ") && line.contains(" requests_finished=0 goodbyes=0"));
        }
    }

    @Test
    void wrkThroughSigtermSeesNoFailedRequestAndEveryConnectionToldToClose() throws Exception {
        String wrk = Tools.require("wrk").toString();
        Path script = COUNTING_SCRIPT;
        try (GraceProcess grace = httpServer("10s")) {
            InetSocketAddress address = grace.awaitListening();
            Process load = new ProcessBuilder(wrk, "-t1", "-c10", "-d4s", "-s", script.toString(), url(address, "/delay/20"))
                    .redirectErrorStream(true).start();
            Thread.sleep(1500);
            grace.signal("TERM");
            String report = new String(load.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(load.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(grace.awaitExit(20)).isZero();

            Matcher wrkLine = WRK_LINE.matcher(report);
            assertThat(wrkLine.find()).as(report).isTrue();
            assertThat(Long.parseLong(wrkLine.group(1))).as("requests").isGreaterThan(100);
            assertThat(wrkLine.group(2)).as("read errors").isEqualTo("0");
            assertThat(wrkLine.group(3)).as("timeouts").isEqualTo("0");
            assertThat(wrkLine.group(4)).as("non-2xx").isEqualTo("0");
            assertThat(wrkLine.group(5)).as("Connection: close responses, one per connection").isEqualTo("10");
            String drained = grace.awaitStderr("drained: ");
            assertThat(drained).contains("graceful=10 ", "aborted_at_deadline=0 ", "goodbyes=10 ");
        }
    }

    @Test
    void h2loadThroughSigtermSeesNoErroredRequestAndNoTimeout() throws Exception {
        String h2load = Tools.require("h2load").toString();
        try (GraceProcess grace = httpServer("10s")) {
            InetSocketAddress address = grace.awaitListening();
            Process load = new ProcessBuilder(h2load, "-c4", "-m10", "-D", "4", url(address, "/delay/20"))
                    .redirectErrorStream(true).start();
            Thread.sleep(1500);
            grace.signal("TERM");
            String report = new String(load.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(load.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(grace.awaitExit(20)).isZero();

            Matcher line = H2LOAD_LINE.matcher(report);
            assertThat(line.find()).as(report).isTrue();
            assertThat(Long.parseLong(line.group(2))).as("succeeded").isGreaterThan(100);
            assertThat(line.group(4)).as("errored").isEqualTo("0");
            assertThat(line.group(5)).as("timeout").isEqualTo("0");
            String drained = grace.awaitStderr("drained: ");
            assertThat(drained).contains("graceful=4 ", "goodbyes=4 ");
        }
    }

    @Test
    void closeSpreadSpreadsTheIdleFinsOverTheWindow() throws Exception {
        try (GraceProcess grace = GraceProcess.start("server", "--protocol", "http", "--port", "0", "--drain-timeout", "10s",
                "--close-spread", "1s")) {
            InetSocketAddress address = grace.awaitListening();
            List<Socket> clients = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket client = new Socket("127.0.0.1", address.getPort());
                    client.setSoTimeout(10_000);
                    client.getOutputStream().write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    assertThat(readHead(client.getInputStream())).startsWith("HTTP/1.1 200");
                    assertThat(client.getInputStream().readNBytes(3)).isEqualTo("ok\n".getBytes(StandardCharsets.US_ASCII));
                    clients.add(client);
                }
                // Each client waits for its own FIN, so each arrival is timed when it happens.
                List<java.util.concurrent.CompletableFuture<Long>> fins = new java.util.ArrayList<>();
                for (Socket client : clients) {
                    fins.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try {
                            return client.getInputStream().read() == -1 ? System.nanoTime() : -1L;
                        } catch (IOException e) {
                            return -1L;
                        }
                    }, runnable -> new Thread(runnable, "fin-wait").start()));
                }
                grace.signal("TERM");
                List<Long> finAt = new java.util.ArrayList<>();
                for (var fin : fins) {
                    long at = fin.get(20, TimeUnit.SECONDS);
                    assertThat(at).as("an idle keep-alive connection's FIN, not bytes or a reset").isPositive();
                    finAt.add(at);
                }
                long spreadMillis = TimeUnit.NANOSECONDS.toMillis(java.util.Collections.max(finAt) - java.util.Collections.min(finAt));
                // Four connections over a 1 s window: the last one's FIN comes three quarters of it after the first.
                assertThat(spreadMillis).isGreaterThanOrEqualTo(500);
            } finally {
                for (Socket client : clients) {
                    client.close();
                }
            }
            assertThat(grace.awaitExit(20)).isZero();
            assertThat(grace.awaitStderr("drained: ")).contains("graceful=4 ", "closed_idle=4 ");
        }
    }

    @Test
    void aWebSocketEchoesThenHearsGoingAwayAndEndsWithFin() throws Exception {
        try (GraceProcess grace = httpServer("10s")) {
            InetSocketAddress address = grace.awaitListening();
            try (Socket socket = new Socket("127.0.0.1", address.getPort())) {
                socket.setSoTimeout(10_000);
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                out.write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                String head = readHead(in);
                assertThat(head).startsWith("HTTP/1.1 101").contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

                out.write(maskedFrame(0x1, "hello".getBytes(StandardCharsets.UTF_8)));
                assertThat(readFrame(in)).isEqualTo(new Frame(0x1, "hello".getBytes(StandardCharsets.UTF_8)));

                grace.signal("TERM");
                Frame close = readFrame(in);
                assertThat(close.opcode()).isEqualTo(0x8);
                assertThat(((close.payload()[0] & 0xff) << 8) | (close.payload()[1] & 0xff)).as("going away").isEqualTo(1001);
                out.write(maskedFrame(0x8, new byte[] {0x03, (byte) 0xe8}));
                assertThat(in.read()).as("the server's FIN after the close handshake").isEqualTo(-1);
            }
            assertThat(grace.awaitExit(20)).isZero();
            assertThat(grace.awaitStderr("drained: ")).contains("graceful=1 ", "goodbyes=1 ");
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("EOF in the response head: " + head);
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    record Frame(int opcode, byte[] payload) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Frame f && f.opcode == opcode && java.util.Arrays.equals(f.payload, payload);
        }

        @Override
        public int hashCode() {
            return opcode * 31 + java.util.Arrays.hashCode(payload);
        }
    }

    /** A server's frame: unmasked, short payloads only (what these tests exchange). */
    private static Frame readFrame(InputStream in) throws IOException {
        int first = in.read();
        int length = in.read() & 0x7f;
        if (first < 0 || length > 125) {
            throw new IOException("not a short frame: " + first + " " + length);
        }
        return new Frame(first & 0x0f, in.readNBytes(length));
    }

    /** A client's frame: FIN set, masked, as RFC 6455 requires of clients. */
    private static byte[] maskedFrame(int opcode, byte[] payload) {
        byte[] mask = {0x11, 0x22, 0x33, 0x44};
        byte[] out = new byte[2 + 4 + payload.length];
        out[0] = (byte) (0x80 | opcode);
        out[1] = (byte) (0x80 | payload.length);
        System.arraycopy(mask, 0, out, 2, 4);
        for (int i = 0; i < payload.length; i++) {
            out[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
        }
        return out;
    }
}
